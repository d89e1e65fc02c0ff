package exchange

import (
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
)

// Replayed financing events name the asset and show decimal amounts, not
// registry ids and minor units. (Eligibility records are decoded by
// eligibility.DecodeEvent, tested in its package.)
func TestExplainFinancing(t *testing.T) {
	m, err := NewMachine(engine.WithFinancing(engine.DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	x := New(m, NewMemLog(m))
	sub := x.Subscribe(1024)
	c := must(t, x, engine.Command{Kind: engine.CmdCreateClient, Key: 1, Ref: "erin"}).Client
	must(t, x, engine.Command{Kind: engine.CmdFinDeposit, Client: c, Key: 2, Ref: "BTC", Amount: 150_000_000}) // 1.5 BTC
	must(t, x, engine.Command{Kind: engine.CmdFinDeposit, Client: c, Key: 3, Ref: "0005.HK", Amount: 3000})
	var lines []string
	for len(sub.C) > 0 {
		bt := <-sub.C
		for i := range bt.Events {
			if k := bt.Events[i].Kind; k == engine.EvFinancing {
				lines = append(lines, m.FormatEvent(&bt.Events[i]))
			}
		}
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"financing deposited 1.5 BTC;", "financing deposited 3000 0005.HK;", "lending value"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "asset 1") {
		t.Errorf("raw asset ids in:\n%s", text)
	}
}

// A named order's acceptance shows the client's own order id in a replay.
func TestExplainNamedOrder(t *testing.T) {
	ev := engine.Event{Kind: engine.EvOrderAccepted, Seq: 9, Client: 3, Market: 0, Order: 1 << 20, Side: 1, Price: 650_000, Qty: 5}
	m, err := NewMachine(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if line := m.FormatEvent(&ev); strings.Contains(line, "client_order_id") {
		t.Fatalf("unnamed order shows an id: %s", line)
	}
	ev.Ref = "hedge-7"
	if line := m.FormatEvent(&ev); !strings.HasSuffix(line, `(client_order_id "hedge-7")`) {
		t.Fatalf("named order: %s", line)
	}
}
