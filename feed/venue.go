package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Venue is one venue's adapter: where to connect, what to send, and how to
// read what comes back.
type Venue interface {
	// Name is the venue's short name ("coinbase").
	Name() string
	// URL is the public WebSocket endpoint.
	URL() string
	// Subscribe returns the messages to send after connecting, in order.
	Subscribe() [][]byte
	// Parse reads one text message. Control messages (acks, heartbeats,
	// status) give no quotes and no error; a malformed data message, an
	// error from the venue, or a price Sampan cannot read gives an error.
	Parse(msg []byte, received time.Time) ([]Quote, error)
}

// Pinger is implemented by venues that need an application-level ping.
type Pinger interface {
	Ping() (msg []byte, every time.Duration)
}

// Pair maps one underlying to a venue symbol.
type Pair struct {
	Underlying string // "BTC"
	Symbol     string // the venue's symbol
	Currency   string // "USD" or "USDT"
}

// Errors from parsers.
var (
	// ErrMessage: the message is not in the venue's format.
	ErrMessage = errors.New("feed: malformed venue message")
	// ErrVenue: the venue reported an error.
	ErrVenue = errors.New("feed: venue reported an error")
	// ErrReconnect: the venue asked the client to reconnect.
	ErrReconnect = errors.New("feed: venue asked to reconnect")
)

func findPair(pairs []Pair, symbol string) (Pair, bool) {
	for _, p := range pairs {
		if p.Symbol == symbol {
			return p, true
		}
	}
	return Pair{}, false
}

// decode unmarshals a message into v, keeping JSON numbers as text.
func decode(msg []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(msg))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMessage, err)
	}
	return nil
}

// quote builds a Quote after checking the price text.
func quote(venue string, p Pair, price string, at, received time.Time) (Quote, error) {
	if !validPrice(price) {
		return Quote{}, fmt.Errorf("%w: %s %s price %q", ErrMessage, venue, p.Symbol, price)
	}
	if at.IsZero() {
		at = received
	}
	return Quote{Venue: venue, Underlying: p.Underlying, Symbol: p.Symbol, Currency: p.Currency, Price: price, Time: at, Received: received}, nil
}

func unixMillis(n json.Number) (time.Time, error) {
	ms, err := n.Int64()
	if err != nil || ms <= 0 {
		return time.Time{}, fmt.Errorf("%w: bad millisecond time %q", ErrMessage, n)
	}
	return time.UnixMilli(ms).UTC(), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Venues returns the default adapters for BTC and ETH, in a fixed order.
// Three quote in USD (Coinbase, Kraken, Bitstamp), two in USDT (OKX,
// Binance); see docs/methodology.md for the weights.
func Venues() []Venue {
	return []Venue{NewCoinbase(), NewKraken(), NewBitstamp(), NewOKX(), NewBinance()}
}
