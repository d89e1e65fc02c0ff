package engine

import "github.com/sampan-hk/sampan/core/book"

// Eligibility over time. A client's right to open or increase positions
// ends when its classification expires, is downgraded to retail, or its
// derivatives-knowledge flag is cleared. Orders already resting would
// otherwise still fill and increase its position, so the engine cancels
// every resting order of that client that is not reduce-only
// (CancelByEngine):
//   - at once, in the operator command that removes eligibility;
//   - for an expiry, in the first command stamped at or after the expiry
//     time, before that command itself runs. Fills only happen inside
//     commands, so no fill can come between the expiry and the cleanup.
//
// Expiries wait in a min-heap ordered by (time, client), so the order of
// cleanups is deterministic. A renewed or changed classification leaves a
// stale heap entry behind; it is skipped when popped because the client's
// expiry no longer matches.

type expiry struct {
	at     int64
	client ClientID
}

type expiryHeap []expiry

func (h expiryHeap) less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].client < h[j].client)
}

func (h *expiryHeap) push(x expiry) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *expiryHeap) pop() expiry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// expire runs the cleanups of every expiry at or before now.
func (e *Engine) expire() {
	for len(e.expiries) > 0 && e.expiries[0].at <= e.now {
		x := e.expiries.pop()
		c := &e.clients[x.client]
		if c.class != Retail && c.expiry == x.at {
			e.revokeOrders(x.client)
		}
	}
}

// eligibilityChanged is called after an operator command changes a
// client's classification or knowledge flag.
func (e *Engine) eligibilityChanged(id ClientID) {
	c := &e.clients[id]
	if e.eligibility(id) != OK {
		e.revokeOrders(id)
		return
	}
	e.expiries.push(expiry{at: c.expiry, client: id})
}

// revokeOrders cancels every resting order of a client that is not
// reduce-only, oldest first per market.
func (e *Engine) revokeOrders(id ClientID) {
	for i := range e.markets {
		m := &e.markets[i]
		if e.line(id, m.id).Orders == 0 {
			continue
		}
		e.trim = e.trim[:0]
		m.book.WalkOwner(book.Owner(id), func(v book.OrderView) bool {
			if !v.ReduceOnly {
				e.trim = append(e.trim, v)
			}
			return true
		})
		for _, v := range e.trim {
			e.applyBookEvents(m, m.book.Cancel(book.Owner(id), v.ID, book.CancelByEngine), 0, 0)
		}
	}
}
