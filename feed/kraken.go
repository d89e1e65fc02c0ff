package feed

import (
	"encoding/json"
	"fmt"
	"time"
)

// Kraken reads the Kraken Spot WebSocket v2 `ticker` channel
// (wss://ws.kraken.com/v2), triggered on trades. Prices are JSON numbers;
// they are kept as their text. The `last` field is the last trade price; a
// `timestamp` is used when present, else the receive time.
type Kraken struct{ Pairs []Pair }

// NewKraken returns the adapter for BTC/USD and ETH/USD.
func NewKraken() *Kraken {
	return &Kraken{Pairs: []Pair{{"BTC", "BTC/USD", "USD"}, {"ETH", "ETH/USD", "USD"}}}
}

func (k *Kraken) Name() string { return "kraken" }
func (k *Kraken) URL() string  { return "wss://ws.kraken.com/v2" }

func (k *Kraken) Subscribe() [][]byte {
	syms := make([]string, len(k.Pairs))
	for i, p := range k.Pairs {
		syms[i] = p.Symbol
	}
	type params struct {
		Channel string   `json:"channel"`
		Symbol  []string `json:"symbol"`
	}
	type sub struct {
		Method string `json:"method"`
		Params params `json:"params"`
	}
	return [][]byte{mustJSON(sub{"subscribe", params{"ticker", syms}})}
}

type krakenMsg struct {
	Channel string `json:"channel"`
	Type    string `json:"type"`
	Method  string `json:"method"`
	Success *bool  `json:"success"`
	Error   string `json:"error"`
	Data    []struct {
		Symbol    string          `json:"symbol"`
		Last      json.RawMessage `json:"last"`
		Timestamp string          `json:"timestamp"`
	} `json:"data"`
}

func (k *Kraken) Parse(msg []byte, received time.Time) ([]Quote, error) {
	var m krakenMsg
	if err := decode(msg, &m); err != nil {
		return nil, err
	}
	if m.Success != nil && !*m.Success {
		return nil, fmt.Errorf("%w: kraken %s: %s", ErrVenue, m.Method, m.Error)
	}
	if m.Channel != "ticker" {
		return nil, nil // status, heartbeat, method acks
	}
	if m.Type != "snapshot" && m.Type != "update" {
		return nil, fmt.Errorf("%w: kraken ticker type %q", ErrMessage, m.Type)
	}
	var out []Quote
	for _, d := range m.Data {
		p, ok := findPair(k.Pairs, d.Symbol)
		if !ok {
			continue
		}
		var at time.Time
		if d.Timestamp != "" {
			t, err := time.Parse(time.RFC3339Nano, d.Timestamp)
			if err != nil {
				return nil, fmt.Errorf("%w: kraken timestamp %q", ErrMessage, d.Timestamp)
			}
			at = t
		}
		// Kraken v2 sends prices as JSON numbers; anything else (a string,
		// null) is not its format.
		if len(d.Last) == 0 || d.Last[0] < '0' || d.Last[0] > '9' {
			return nil, fmt.Errorf("%w: kraken last %s", ErrMessage, d.Last)
		}
		q, err := quote(k.Name(), p, string(d.Last), at, received)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}
