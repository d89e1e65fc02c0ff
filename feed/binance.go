package feed

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Binance reads Binance spot `<symbol>@trade` streams through the combined
// endpoint (wss://stream.binance.com:9443/stream?streams=a/b): the streams
// are named in the URL, so there is nothing to send. `p` is the trade price
// and `T` the trade time in ms. Binance's own ping frames are answered by the
// WebSocket library.
type Binance struct{ Pairs []Pair }

// NewBinance returns the adapter for BTCUSDT and ETHUSDT.
func NewBinance() *Binance {
	return &Binance{Pairs: []Pair{{"BTC", "BTCUSDT", "USDT"}, {"ETH", "ETHUSDT", "USDT"}}}
}

func (b *Binance) Name() string { return "binance" }

func (b *Binance) URL() string {
	streams := make([]string, len(b.Pairs))
	for i, p := range b.Pairs {
		streams[i] = strings.ToLower(p.Symbol) + "@trade"
	}
	return "wss://stream.binance.com:9443/stream?streams=" + strings.Join(streams, "/")
}

func (b *Binance) Subscribe() [][]byte { return nil }

type binanceMsg struct {
	Stream string `json:"stream"`
	// Binance keys differ only by case ("e" event type, "E" event time;
	// "t" trade id, "T" trade time; "m", "M"). encoding/json matches keys
	// case-insensitively unless an exact tag exists, so every twin is
	// declared to keep "E" from landing in "e".
	Data *struct {
		Event     string          `json:"e"`
		EventTime json.Number     `json:"E"`
		Symbol    string          `json:"s"`
		Price     string          `json:"p"`
		Qty       string          `json:"q"`
		TradeID   json.Number     `json:"t"`
		Time      json.Number     `json:"T"`
		Maker     json.RawMessage `json:"m"`
		Ignore    json.RawMessage `json:"M"`
	} `json:"data"`
	Code json.Number `json:"code"`
	Msg  string      `json:"msg"`
}

func (b *Binance) Parse(msg []byte, received time.Time) ([]Quote, error) {
	var m binanceMsg
	if err := decode(msg, &m); err != nil {
		return nil, err
	}
	if m.Code != "" {
		return nil, fmt.Errorf("%w: binance %s: %s", ErrVenue, m.Code, m.Msg)
	}
	if m.Data == nil {
		return nil, nil // method responses such as {"result":null,"id":1}
	}
	if m.Data.Event != "trade" {
		return nil, nil
	}
	p, ok := findPair(b.Pairs, m.Data.Symbol)
	if !ok {
		return nil, nil
	}
	at, err := unixMillis(m.Data.Time)
	if err != nil {
		return nil, err
	}
	q, err := quote(b.Name(), p, m.Data.Price, at, received)
	if err != nil {
		return nil, err
	}
	return []Quote{q}, nil
}
