// Package feed brings external spot prices to Sampan: one adapter per venue
// parsing that venue's public market-data messages, a WebSocket client loop
// with reconnect, backoff and staleness reporting, and a simulated feed for
// the demo and tests.
//
// feed is I/O and lives outside the core. Its quotes never reach the engine
// directly: the caller turns each Quote into an oracle quote command
// (OracleQuote) and submits it through the sequencer, so prices enter the
// engine only through the replicated log and every index and mark replays
// exactly.
package feed

import (
	"errors"
	"time"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/oracle"
)

// Quote is one price observation from one venue.
type Quote struct {
	Venue      string // adapter name, e.g. "coinbase"
	Underlying string // "BTC" or "ETH"
	Symbol     string // the venue's own symbol, e.g. "BTC-USD", "BTC/USD", "BTCUSDT"
	Currency   string // quote currency on the venue: "USD" or "USDT" (treated at par)
	// Price is the decimal text the venue sent (JSON numbers are kept as
	// their text, never parsed into a float).
	Price string
	// Time is the venue's own event time; the receive time when the venue
	// gives none.
	Time     time.Time
	Received time.Time
}

// PriceDecimals is the precision feed prices are checked at: 8 decimals is
// finer than any USD spot tick.
const PriceDecimals = 8

// Quote conversion errors.
var (
	ErrPrice = errors.New("feed: price is not a positive plain decimal")
)

// Units returns the price as an integer count of 10^-scale, truncated
// toward zero when the venue sent more decimals than scale.
func (q Quote) Units(scale int) (int64, error) {
	s := q.Price
	for i := 0; i < len(s); i++ {
		if s[i] == '.' && len(s)-i-1 > scale {
			s = s[:i+1+scale]
			if scale == 0 {
				s = s[:i]
			}
			break
		}
	}
	v, err := fixed.ParseDecimal(s, scale)
	if err != nil || v <= 0 {
		return 0, ErrPrice
	}
	return v, nil
}

// Ticks returns the price in the instrument's ticks, truncated down to the
// tick. (Truncation is a deliberate, stated choice: the index is a median of
// constituent prices, so a bias below one tick cannot accumulate.)
func (q Quote) Ticks(spec *fixed.Spec) (fixed.Price, error) {
	v, err := q.Units(spec.Tick.Scale)
	if err != nil {
		return 0, err
	}
	t := v / spec.Tick.Units
	if t <= 0 {
		return 0, ErrPrice
	}
	return fixed.Price(t), nil
}

// OracleQuote converts the quote into what the engine's oracle consumes:
// the constituent id the engine assigned to this venue, the price in ticks
// and the venue time in unix ns. The caller wraps it in a command.
func (q Quote) OracleQuote(src oracle.SourceID, spec *fixed.Spec) (oracle.Quote, error) {
	p, err := q.Ticks(spec)
	if err != nil {
		return oracle.Quote{}, err
	}
	return oracle.Quote{Source: src, Price: p, Time: q.Time.UnixNano()}, nil
}

// SourceFor returns the index constituent id configured for a venue name,
// e.g. SourceFor(oracle.DefaultSources(), q.Venue).
func SourceFor(sources []oracle.Source, venue string) (oracle.SourceID, bool) {
	for _, s := range sources {
		if s.Name == venue {
			return s.ID, true
		}
	}
	return 0, false
}

// validPrice reports whether a venue's price text is one Sampan accepts.
func validPrice(s string) bool {
	_, err := Quote{Price: s}.Units(PriceDecimals)
	return err == nil
}
