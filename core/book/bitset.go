package book

import "math/bits"

// ladder is a hierarchical bitset over price ticks: bit p of layer 0 is set
// when the level at price p is non-empty, and bit w of layer k+1 is set when
// word w of layer k is non-zero. Finding the next non-empty price above or
// below any price costs one word scan per layer (4 layers cover 16.7M
// ticks), independent of how many levels exist or how far apart they are.
//
// Why not a tree or a skip list: prices are small dense integers, the best
// price moves locally, and a bitset answers "next level" with a few
// TrailingZeros instructions and no pointer chasing or allocation.
type ladder struct {
	layers [][]uint64
}

func newLadder(nbits int) ladder {
	var l ladder
	for {
		words := (nbits + 63) / 64
		l.layers = append(l.layers, make([]uint64, words))
		if words == 1 {
			return l
		}
		nbits = words
	}
}

func (l *ladder) set(i int) {
	for k := range l.layers {
		w, b := i>>6, uint(i&63)
		old := l.layers[k][w]
		l.layers[k][w] = old | 1<<b
		if old != 0 {
			return
		}
		i = w
	}
}

func (l *ladder) clear(i int) {
	for k := range l.layers {
		w, b := i>>6, uint(i&63)
		v := l.layers[k][w] &^ (1 << b)
		l.layers[k][w] = v
		if v != 0 {
			return
		}
		i = w
	}
}

// next returns the smallest set index ≥ i, or -1.
func (l *ladder) next(i int) int {
	if i < 0 {
		i = 0
	}
	k := 0
	for {
		if k == len(l.layers) {
			return -1
		}
		w := i >> 6
		if w >= len(l.layers[k]) {
			return -1
		}
		m := l.layers[k][w] & (^uint64(0) << uint(i&63))
		if m != 0 {
			i = w<<6 | bits.TrailingZeros64(m)
			break
		}
		i = w + 1
		k++
	}
	for k > 0 {
		k--
		i = i<<6 | bits.TrailingZeros64(l.layers[k][i])
	}
	return i
}

// prev returns the largest set index ≤ i, or -1.
func (l *ladder) prev(i int) int {
	if i < 0 {
		return -1
	}
	k := 0
	for {
		if k == len(l.layers) {
			return -1
		}
		w := i >> 6
		if w >= len(l.layers[k]) {
			w = len(l.layers[k]) - 1
			i = w<<6 | 63
		}
		m := l.layers[k][w] & ((uint64(2) << uint(i&63)) - 1)
		if m != 0 {
			i = w<<6 | (63 - bits.LeadingZeros64(m))
			break
		}
		if w == 0 {
			return -1
		}
		i = w - 1
		k++
	}
	for k > 0 {
		k--
		i = i<<6 | (63 - bits.LeadingZeros64(l.layers[k][i]))
	}
	return i
}
