package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// goldenBatches are the format's test vectors. The files under testdata/
// were produced once by -update and are checked byte for byte, so any
// change to the encoding shows up as a failing test (and needs a version).
var goldenBatches = []struct {
	name string
	time int64
	cmds [][]byte
}{
	{"batch_v1_one", 1_700_000_000_123_456_789, [][]byte{[]byte("hello")}},
	{"batch_v1_three", 42, [][]byte{{1, 2, 3}, {}, transfer(7, 1, 2, 300)}},
	{"batch_v1_negative_time", -1, [][]byte{{0xff}}},
}

func TestBatchGolden(t *testing.T) {
	for _, g := range goldenBatches {
		t.Run(g.name, func(t *testing.T) {
			enc, err := AppendBatch(nil, g.time, g.cmds)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.name+".hex")
			if *update {
				if err := os.WriteFile(path, []byte(hex.EncodeToString(enc)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := hex.DecodeString(strings.TrimSpace(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, want) {
				t.Fatalf("encoding changed:\n got %x\nwant %x", enc, want)
			}
			h, cmds, err := DecodeBatch(want, nil)
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != 1 || h.Time != g.time || h.Count != len(g.cmds) || len(cmds) != len(g.cmds) {
				t.Fatalf("header %+v, %d commands", h, len(cmds))
			}
			for i := range cmds {
				if !bytes.Equal(cmds[i], g.cmds[i]) {
					t.Fatalf("command %d = %x, want %x", i, cmds[i], g.cmds[i])
				}
			}
		})
	}
}

// TestDecodeBatchRejects lists the corruptions a decoder must catch. Each
// case starts from a valid batch and breaks one thing; where the CRC would
// catch it anyway, the case re-seals the CRC so the structural check is
// what must fail.
func TestDecodeBatchRejects(t *testing.T) {
	good, _ := AppendBatch(nil, 5, [][]byte{[]byte("abc"), []byte("de")})
	reseal := func(b []byte) []byte {
		crc := crc32Update(b)
		binary.LittleEndian.PutUint32(b[20:], crc)
		return b
	}
	cases := []struct {
		name string
		mut  func([]byte) []byte
		want string
	}{
		{"empty", func(b []byte) []byte { return nil }, "shorter than"},
		{"short header", func(b []byte) []byte { return b[:23] }, "shorter than"},
		{"bad version", func(b []byte) []byte { b[0] = 2; return b }, "unknown version"},
		{"reserved set", func(b []byte) []byte { b[2] = 1; return b }, "reserved"},
		{"body bit flip", func(b []byte) []byte { b[30] ^= 1; return b }, "crc"},
		{"time bit flip", func(b []byte) []byte { b[9] ^= 1; return b }, "crc"},
		{"truncated body", func(b []byte) []byte { return b[:len(b)-1] }, "body length"},
		{"extra byte", func(b []byte) []byte { return append(b, 0) }, "body length"},
		{"count zero", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 0); return reseal(b) }, "count 0"},
		{"count too high", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 3); return reseal(b) }, "truncated length"},
		{"count too low", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 1); return reseal(b) }, "trailing bytes"},
		{"command length overflows", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[24:], 1000)
			return reseal(b)
		}, "exceeds remaining"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.mut(bytes.Clone(good))
			_, cmds, err := DecodeBatch(b, nil)
			if !errors.Is(err, ErrCorruptBatch) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrCorruptBatch containing %q", err, c.want)
			}
			if len(cmds) != 0 {
				t.Fatalf("returned %d commands with an error", len(cmds))
			}
		})
	}
}

// crc32Update recomputes a batch's CRC the way AppendBatch does.
func crc32Update(b []byte) uint32 {
	crc := crc32.Update(0, castagnoli, b[:20])
	return crc32.Update(crc, castagnoli, b[batchHeaderLen:])
}

// TestBatchLimits checks each format limit at the limit and one past it.
func TestBatchLimits(t *testing.T) {
	one := []byte{1}
	atCount := make([][]byte, batchCommandsLimit)
	for i := range atCount {
		atCount[i] = one
	}
	if _, err := AppendBatch(nil, 0, atCount); err != nil {
		t.Fatalf("%d commands: %v", batchCommandsLimit, err)
	}
	if _, err := AppendBatch(nil, 0, append(atCount, one)); err == nil {
		t.Fatalf("%d commands accepted", batchCommandsLimit+1)
	}
	if _, err := AppendBatch(nil, 0, nil); err == nil {
		t.Fatal("empty batch accepted")
	}
	big := make([]byte, commandBytesLimit)
	enc, err := AppendBatch(nil, 0, [][]byte{big})
	if err != nil {
		t.Fatalf("command of %d bytes: %v", commandBytesLimit, err)
	}
	if _, _, err := DecodeBatch(enc, nil); err != nil {
		t.Fatalf("decode at command limit: %v", err)
	}
	if _, err := AppendBatch(nil, 0, [][]byte{make([]byte, commandBytesLimit+1)}); err == nil {
		t.Fatalf("command of %d bytes accepted", commandBytesLimit+1)
	}
	many := make([][]byte, batchBytesLimit/commandBytesLimit)
	for i := range many {
		many[i] = big
	}
	if _, err := AppendBatch(nil, 0, many); err == nil {
		t.Fatalf("batch over %d bytes accepted", batchBytesLimit)
	}
}

// FuzzDecodeBatch: the decoder never panics, and whatever it accepts
// re-encodes to the same bytes (so there is exactly one encoding per batch).
func FuzzDecodeBatch(f *testing.F) {
	for _, g := range goldenBatches {
		enc, _ := AppendBatch(nil, g.time, g.cmds)
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 24))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, cmds, err := DecodeBatch(data, nil)
		if err != nil {
			return
		}
		again, err := AppendBatch(nil, h.Time, cmds)
		if err != nil {
			t.Fatalf("accepted batch does not re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, data)
		}
	})
}

// FuzzDecodeSnapshot: the snapshot decoder never panics on any input.
func FuzzDecodeSnapshot(f *testing.F) {
	fm := newFSM(newBank(), nil)
	var buf bytes.Buffer
	if err := fm.encodeSnapshotLocked(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("SMPS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = decodeSnapshot(data)
	})
}
