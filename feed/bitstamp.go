package feed

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Bitstamp reads Bitstamp's WebSocket v2 `live_trades_<pair>` channels
// (wss://ws.bitstamp.net). Each trade carries price_str (exact text) and a
// microsecond timestamp. Bitstamp may send bts:request_reconnect, which
// Parse reports as ErrReconnect.
type Bitstamp struct{ Pairs []Pair }

// NewBitstamp returns the adapter for btcusd and ethusd.
func NewBitstamp() *Bitstamp {
	return &Bitstamp{Pairs: []Pair{{"BTC", "btcusd", "USD"}, {"ETH", "ethusd", "USD"}}}
}

func (b *Bitstamp) Name() string { return "bitstamp" }
func (b *Bitstamp) URL() string  { return "wss://ws.bitstamp.net" }

func (b *Bitstamp) Subscribe() [][]byte {
	type data struct {
		Channel string `json:"channel"`
	}
	type sub struct {
		Event string `json:"event"`
		Data  data   `json:"data"`
	}
	out := make([][]byte, len(b.Pairs))
	for i, p := range b.Pairs {
		out[i] = mustJSON(sub{"bts:subscribe", data{"live_trades_" + p.Symbol}})
	}
	return out
}

type bitstampMsg struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

type bitstampTrade struct {
	PriceStr       string `json:"price_str"`
	Microtimestamp string `json:"microtimestamp"`
}

const bitstampTradePrefix = "live_trades_"

func (b *Bitstamp) Parse(msg []byte, received time.Time) ([]Quote, error) {
	var m bitstampMsg
	if err := decode(msg, &m); err != nil {
		return nil, err
	}
	switch m.Event {
	case "trade":
	case "bts:request_reconnect":
		return nil, ErrReconnect
	case "bts:error":
		return nil, fmt.Errorf("%w: bitstamp: %s", ErrVenue, m.Data)
	default:
		return nil, nil // subscription acks, heartbeats
	}
	if len(m.Channel) <= len(bitstampTradePrefix) || m.Channel[:len(bitstampTradePrefix)] != bitstampTradePrefix {
		return nil, fmt.Errorf("%w: bitstamp trade on channel %q", ErrMessage, m.Channel)
	}
	p, ok := findPair(b.Pairs, m.Channel[len(bitstampTradePrefix):])
	if !ok {
		return nil, nil
	}
	var t bitstampTrade
	if err := decode(m.Data, &t); err != nil {
		return nil, err
	}
	us, err := strconv.ParseInt(t.Microtimestamp, 10, 64)
	if err != nil || us <= 0 {
		return nil, fmt.Errorf("%w: bitstamp microtimestamp %q", ErrMessage, t.Microtimestamp)
	}
	q, err := quote(b.Name(), p, t.PriceStr, time.UnixMicro(us).UTC(), received)
	if err != nil {
		return nil, err
	}
	return []Quote{q}, nil
}
