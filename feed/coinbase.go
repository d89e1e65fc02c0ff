package feed

import (
	"encoding/json"
	"fmt"
	"time"
)

// Coinbase reads the Coinbase Advanced Trade WebSocket `ticker` channel
// (wss://advanced-trade-ws.coinbase.com). Each ticker carries the last trade
// price; the envelope's timestamp is the event time. The `heartbeats`
// channel is subscribed too, because Coinbase closes quiet subscriptions.
type Coinbase struct{ Pairs []Pair }

// NewCoinbase returns the adapter for BTC-USD and ETH-USD.
func NewCoinbase() *Coinbase {
	return &Coinbase{Pairs: []Pair{{"BTC", "BTC-USD", "USD"}, {"ETH", "ETH-USD", "USD"}}}
}

func (c *Coinbase) Name() string { return "coinbase" }
func (c *Coinbase) URL() string  { return "wss://advanced-trade-ws.coinbase.com" }

func (c *Coinbase) Subscribe() [][]byte {
	ids := make([]string, len(c.Pairs))
	for i, p := range c.Pairs {
		ids[i] = p.Symbol
	}
	type sub struct {
		Type       string   `json:"type"`
		ProductIDs []string `json:"product_ids"`
		Channel    string   `json:"channel"`
	}
	return [][]byte{
		mustJSON(sub{"subscribe", ids, "ticker"}),
		mustJSON(sub{"subscribe", ids, "heartbeats"}),
	}
}

type coinbaseMsg struct {
	Channel   string `json:"channel"`
	Type      string `json:"type"` // "error" on failures
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	Events    []struct {
		Type    string `json:"type"`
		Tickers []struct {
			Type      string      `json:"type"`
			ProductID string      `json:"product_id"`
			Price     json.Number `json:"price"`
		} `json:"tickers"`
	} `json:"events"`
}

func (c *Coinbase) Parse(msg []byte, received time.Time) ([]Quote, error) {
	var m coinbaseMsg
	if err := decode(msg, &m); err != nil {
		return nil, err
	}
	if m.Type == "error" {
		return nil, fmt.Errorf("%w: coinbase: %s", ErrVenue, m.Message)
	}
	if m.Channel != "ticker" {
		return nil, nil // subscriptions, heartbeats
	}
	at, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("%w: coinbase timestamp %q", ErrMessage, m.Timestamp)
	}
	var out []Quote
	for _, e := range m.Events {
		for _, t := range e.Tickers {
			p, ok := findPair(c.Pairs, t.ProductID)
			if !ok {
				continue // a product we did not ask for
			}
			q, err := quote(c.Name(), p, string(t.Price), at, received)
			if err != nil {
				return nil, err
			}
			out = append(out, q)
		}
	}
	return out, nil
}
