package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

type auditAPI struct {
	Records []json.RawMessage `json:"records"`
	Chain   struct {
		OK      bool   `json:"ok"`
		Checked uint64 `json:"checked"`
		From    uint64 `json:"from"`
		HeadSeq uint64 `json:"head_seq"`
		Head    string `json:"head"`
		Error   string `json:"error"`
	} `json:"chain"`
}

func readAudit(t *testing.T, c *client.Client) auditAPI {
	t.Helper()
	var out auditAPI
	if err := c.Do(context.Background(), "GET", "/v1/admin/audit?limit=1000", nil, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Chain.OK || out.Chain.Error != "" || len(out.Records) == 0 || out.Chain.Checked != uint64(len(out.Records)) {
		t.Fatalf("chain %+v over %d records", out.Chain, len(out.Records))
	}
	return out
}

// sameAsExport checks that the API's records are, byte for byte after
// compacting, the lines `sampan audit export --from --to` writes for the
// same data directory, and that the chain head agrees with the export's.
func sameAsExport(t *testing.T, jdir string, got auditAPI) {
	t.Helper()
	var first struct{ Seq uint64 }
	_ = json.Unmarshal(got.Records[0], &first)
	exp, err := auditExport(jdir, first.Seq, got.Chain.HeadSeq)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(exp, []byte("\n")), []byte("\n"))
	var hdr struct {
		From, To uint64
		Head     string
	}
	if err := json.Unmarshal(lines[0], &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.From != first.Seq || hdr.To != got.Chain.HeadSeq || hdr.Head != got.Chain.Head {
		t.Fatalf("export header %s, API chain %+v from %d", lines[0], got.Chain, first.Seq)
	}
	if len(lines)-1 != len(got.Records) {
		t.Fatalf("export has %d records, API %d", len(lines)-1, len(got.Records))
	}
	for i, rec := range got.Records {
		var buf bytes.Buffer
		if err := json.Compact(&buf, rec); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), lines[i+1]) {
			t.Fatalf("record %d:\n api    %s\n export %s", i, buf.Bytes(), lines[i+1])
		}
	}
}

// A live node's audit trail equals an offline export of its data
// directory: after trading, after a restart (the chain rebuilt by replay
// before the node opens the log), and after more events on the restarted
// node (the chain extended from the live subscription).
func TestAuditTrailMatchesExport(t *testing.T) {
	dir := t.TempDir()
	jdir := filepath.Join(dir, "journal")
	ops := testKeys(t, dir)
	log := quietLog()
	cfg := serveConfig{Data: dir, HTTP: "127.0.0.1:0", Raft: "127.0.0.1:0", Operators: testOperators()}
	start := func() *service {
		s, err := startService(cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start()
	trader := setupTrader(t, s.URL(), ops)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := trader.Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit", Price: strconv.Itoa(64900 + i), Qty: "0.01"}); err != nil {
			t.Fatal(err)
		}
	}
	admin := at(ops[gateway.RoleAdmin], s.URL())
	live := readAudit(t, admin)
	s.Close()
	sameAsExport(t, jdir, live)

	s = start()
	admin = at(ops[gateway.RoleAdmin], s.URL())
	again := readAudit(t, admin)
	if again.Chain.Head != live.Chain.Head || again.Chain.HeadSeq != live.Chain.HeadSeq {
		t.Fatalf("after restart the head is %d %s, before %d %s", again.Chain.HeadSeq, again.Chain.Head, live.Chain.HeadSeq, live.Chain.Head)
	}
	if err := at(trader, s.URL()).CancelAll(ctx, "BTC-USD-PERP"); err != nil {
		t.Fatal(err)
	}
	// The trail follows the engine asynchronously: wait for the cancel.
	more := readAudit(t, admin)
	for deadline := time.Now().Add(5 * time.Second); more.Chain.HeadSeq <= live.Chain.HeadSeq; more = readAudit(t, admin) {
		if time.Now().After(deadline) {
			t.Fatalf("the cancel added no records: head %d", more.Chain.HeadSeq)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	sameAsExport(t, jdir, more)
}
