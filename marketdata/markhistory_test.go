package marketdata

import (
	"fmt"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Mark history, worked by hand: marks set at 00:00:10 (65000), 00:00:50
// (65050), 00:01:10 (65100) and 00:03:05 (64900) give one 1-minute sample
// per minute that had a change, each holding the minute's last value and
// the time it was set; the 5-minute bucket holds only the last. The store's
// first rebuild ran before any command (engine time 0), so it seeds nothing.
func TestMarkHistoryBuckets(t *testing.T) {
	f := newFixture(t, Config{})
	t0 := f.clock
	for _, st := range []struct {
		at    time.Duration
		price int64
	}{{10 * time.Second, 650_000}, {50 * time.Second, 650_500}, {70 * time.Second, 651_000}, {185 * time.Second, 649_000}} {
		f.clock = t0 + int64(st.at)
		f.must(engine.Command{Kind: engine.CmdSetMark, Price: fixed.Price(st.price)})
	}
	f.sync()
	ms0 := t0 / 1e6
	cases := []struct {
		iv    Interval
		limit int
		want  string
	}{
		{I1m, 0, fmt.Sprintf("[{%d %d 65050 } {%d %d 65100 } {%d %d 64900 }]", ms0, ms0+50_000, ms0+60_000, ms0+70_000, ms0+180_000, ms0+185_000)},
		{I1m, 2, fmt.Sprintf("[{%d %d 65100 } {%d %d 64900 }]", ms0+60_000, ms0+70_000, ms0+180_000, ms0+185_000)},
		{I5m, 0, fmt.Sprintf("[{%d %d 64900 }]", ms0, ms0+185_000)},
		{I1h, 1, fmt.Sprintf("[{%d %d 64900 }]", ms0, ms0+185_000)},
	}
	for _, c := range cases {
		if got := fmt.Sprint(f.s.MarkHistory(0, c.iv, c.limit)); got != c.want {
			t.Errorf("%s limit %d:\n got %s\nwant %s", c.iv, c.limit, got, c.want)
		}
	}
	if got := f.s.MarkHistory(1, I1m, 0); len(got) != 0 {
		t.Errorf("ETH has no mark yet, history %v", got)
	}
}

// The index joins the samples once three venues quote: every sample then
// carries both prices, the index carried forward when only the mark moves.
func TestMarkHistoryCarriesIndex(t *testing.T) {
	f := newFixture(t, Config{})
	f.must(engine.Command{Kind: engine.CmdSetMark, Market: 1, Price: fixed.Price(300_000)})
	for src := uint16(1); src <= 3; src++ {
		f.must(engine.Command{Kind: engine.CmdQuote, Market: 1, Source: src, Price: fixed.Price(299_900 + 100*int64(src)), Observed: f.clock})
	}
	f.sync()
	h := f.s.MarkHistory(1, I1m, 0)
	if len(h) != 1 || h[0].Index == "" || h[0].Mark == "" {
		t.Fatalf("history after quotes: %+v", h)
	}
	var want string
	f.x.View(func(e *engine.Engine) {
		v, _ := e.Index(1)
		want = f.s.Specs()[1].Spec.FormatPrice(v.Price)
	})
	if h[0].Index != want {
		t.Fatalf("index sample %q, engine index %q", h[0].Index, want)
	}
	f.clock += int64(2 * time.Minute)
	f.must(engine.Command{Kind: engine.CmdSetMark, Market: 1, Price: fixed.Price(301_000)})
	f.sync()
	h = f.s.MarkHistory(1, I1m, 0)
	if len(h) != 2 || h[1].Index != want || h[1].Mark != "3010" {
		t.Fatalf("index not carried forward: %+v", h)
	}
}

// The rings are bounded like the candles: KlinesMax samples per interval
// (the 1-minute ring at least a day).
func TestMarkHistoryBounded(t *testing.T) {
	f := newFixture(t, Config{KlinesMax: 2})
	for i := int64(0); i < 5; i++ {
		f.must(engine.Command{Kind: engine.CmdSetMark, Price: fixed.Price(650_000 + i)})
		f.clock += int64(time.Hour)
	}
	f.sync()
	if h := f.s.MarkHistory(0, I1h, 0); len(h) != 2 || h[1].Mark != "65000.4" {
		t.Fatalf("1h history %+v, want the newest 2", h)
	}
	if n, max := len(f.s.MarkHistory(0, I1m, 0)), f.s.MarkHistoryMax(I1m); n != 5 || max != 24*60+1 {
		t.Fatalf("1m kept %d of max %d", n, max)
	}
}
