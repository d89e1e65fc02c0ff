package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

const t0 int64 = 1_767_225_600_000_000_000 // 2026-01-01T00:00:00Z

// sample is the chain used by these tests and by the example in
// docs/governance.md.
func sample() []Record {
	var c Chain
	return []Record{
		c.Append(t0, "operator_added", []byte("risk2")),
		c.Append(t0+1_000_000_000, "proposal_submitted", []byte{0x01, 0x04, 0xff}),
		c.Append(t0+2_000_000_000, "proposal_approved", nil),
		c.Append(t0+3_600_000_000_000, "parameter_activated", []byte("v2")),
	}
}

func mustExport(t *testing.T, recs []Record) []byte {
	t.Helper()
	b, err := Export(recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportVerifies(t *testing.T) {
	recs := sample()
	file := mustExport(t, recs)
	h, err := Verify(file)
	if err != nil {
		t.Fatal(err)
	}
	if h.From != 1 || h.To != 4 || h.Count != 4 || h.Prev != (Hash{}) || h.Head != recs[3].Hash {
		t.Fatalf("header %+v", h)
	}
	// A range from the middle of the chain verifies on its own, anchored
	// by the previous record's hash.
	mid := mustExport(t, recs[1:3])
	h, err = Verify(mid)
	if err != nil {
		t.Fatal(err)
	}
	if h.Prev != recs[0].Hash || h.Head != recs[2].Hash {
		t.Fatalf("mid header %+v", h)
	}
}

// Golden head hash: the chain layout is a published format, so a change to
// Canonical or Link must be deliberate (and this number updated with it).
func TestGoldenHead(t *testing.T) {
	recs := sample()
	const want = "3fe9a3f90204b7fba23497c42766412de4e91c1c9606c21df834cf52284c0030"
	if got := hex.EncodeToString(recs[3].Hash[:]); got != want {
		t.Fatalf("head %s, want %s", got, want)
	}
}

// Every single-byte change anywhere in the file is caught: three different
// flips at every position of a small export.
func TestEveryFlippedByteFails(t *testing.T) {
	file := mustExport(t, sample())
	for i := range file {
		for _, mask := range []byte{0x01, 0x20, 0x80} {
			bad := bytes.Clone(file)
			bad[i] ^= mask
			if _, err := Verify(bad); err == nil {
				t.Fatalf("byte %d (%q) ^ %#x still verifies", i, file[i], mask)
			}
		}
	}
}

func lines(file []byte) [][]byte { return bytes.SplitAfter(file[:len(file)-1], []byte("\n")) }

func join(ls [][]byte) []byte {
	var b []byte
	for _, l := range ls {
		b = append(b, l...)
		if l[len(l)-1] != '\n' {
			b = append(b, '\n')
		}
	}
	return b
}

func TestDeletionInsertionReorderTruncationFail(t *testing.T) {
	file := mustExport(t, sample())
	ls := lines(file)
	for i := range ls {
		del := append(append([][]byte{}, ls[:i]...), ls[i+1:]...)
		if _, err := Verify(join(del)); err == nil {
			t.Errorf("deleting line %d verifies", i+1)
		}
		dup := append(append(append([][]byte{}, ls[:i+1]...), ls[i]), ls[i+1:]...)
		if _, err := Verify(join(dup)); err == nil {
			t.Errorf("duplicating line %d verifies", i+1)
		}
		if i+1 < len(ls) {
			sw := append([][]byte{}, ls...)
			sw[i], sw[i+1] = sw[i+1], sw[i]
			if _, err := Verify(join(sw)); err == nil {
				t.Errorf("swapping lines %d and %d verifies", i+1, i+2)
			}
		}
	}
	for n := 0; n < len(file); n++ {
		if _, err := Verify(file[:n]); err == nil {
			t.Fatalf("truncation to %d bytes verifies", n)
		}
	}
	// A record from another chain with the right seq does not fit either.
	var other Chain
	other.Append(t0, "operator_added", []byte("mallory"))
	alien := lines(mustExport(t, []Record{other.Append(t0+1, "proposal_submitted", []byte{1})}))[1]
	ins := append([][]byte{}, ls...)
	ins[2] = alien
	if _, err := Verify(join(ins)); err == nil {
		t.Error("a record from another chain verifies")
	}
}

// The error names the first bad line (the header is line 1).
func TestErrorNamesFirstBadLine(t *testing.T) {
	file := mustExport(t, sample())
	ls := lines(file)
	ls[3] = bytes.Replace(ls[3], []byte(`"payload":"`), []byte(`"payload":"00`), 1) // record seq 3
	_, err := Verify(join(ls))
	var le *LineError
	if !errors.As(err, &le) || le.Line != 4 {
		t.Fatalf("error %v, want line 4", err)
	}
	if !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("message %q", err)
	}
}

func TestExportRefusesBrokenRuns(t *testing.T) {
	recs := sample()
	if _, err := Export(nil); err != ErrEmpty {
		t.Fatal(err)
	}
	if _, err := Export([]Record{recs[0], recs[2]}); err != ErrNotContiguous {
		t.Fatal("a gap exported")
	}
	r := recs[1]
	r.Payload = []byte("x")
	if _, err := Export([]Record{recs[0], r}); err != ErrNotContiguous {
		t.Fatal("a tampered record exported")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a bad kind was chained")
		}
	}()
	var c Chain
	c.Append(t0, "Bad Kind", nil)
}

// docs/governance.md shows an export; it must be exactly what this code
// writes for sample(), and it must verify.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/governance.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("```jsonl\n"))
	block, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("no jsonl example in docs/governance.md")
	}
	if want := mustExport(t, sample()); !bytes.Equal(block, want) {
		t.Fatalf("docs example differs from the export; it should read:\n%s", want)
	}
	if _, err := Verify(block); err != nil {
		t.Fatal(err)
	}
}
