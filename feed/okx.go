package feed

import (
	"encoding/json"
	"fmt"
	"time"
)

// OKX reads the OKX v5 public `tickers` channel
// (wss://ws.okx.com:8443/ws/v5/public): `last` is the last trade price and
// `ts` the event time in ms. OKX drops connections idle for 30 s, so the
// client sends the text "ping" every 20 s and OKX answers "pong".
type OKX struct{ Pairs []Pair }

// NewOKX returns the adapter for BTC-USDT and ETH-USDT.
func NewOKX() *OKX {
	return &OKX{Pairs: []Pair{{"BTC", "BTC-USDT", "USDT"}, {"ETH", "ETH-USDT", "USDT"}}}
}

func (o *OKX) Name() string { return "okx" }
func (o *OKX) URL() string  { return "wss://ws.okx.com:8443/ws/v5/public" }

type okxArg struct {
	Channel string `json:"channel"`
	InstID  string `json:"instId"`
}

func (o *OKX) Subscribe() [][]byte {
	type sub struct {
		Op   string   `json:"op"`
		Args []okxArg `json:"args"`
	}
	s := sub{Op: "subscribe"}
	for _, p := range o.Pairs {
		s.Args = append(s.Args, okxArg{"tickers", p.Symbol})
	}
	return [][]byte{mustJSON(s)}
}

// Ping implements Pinger.
func (o *OKX) Ping() ([]byte, time.Duration) { return []byte("ping"), 20 * time.Second }

type okxMsg struct {
	Event string `json:"event"`
	Code  string `json:"code"`
	Msg   string `json:"msg"`
	Arg   okxArg `json:"arg"`
	Data  []struct {
		InstID string      `json:"instId"`
		Last   string      `json:"last"`
		TS     json.Number `json:"ts"`
	} `json:"data"`
}

func (o *OKX) Parse(msg []byte, received time.Time) ([]Quote, error) {
	if string(msg) == "pong" {
		return nil, nil
	}
	var m okxMsg
	if err := decode(msg, &m); err != nil {
		return nil, err
	}
	if m.Event == "error" {
		return nil, fmt.Errorf("%w: okx %s: %s", ErrVenue, m.Code, m.Msg)
	}
	if m.Event != "" || m.Arg.Channel != "tickers" {
		return nil, nil // subscribe acks, other channels
	}
	var out []Quote
	for _, d := range m.Data {
		p, ok := findPair(o.Pairs, d.InstID)
		if !ok {
			continue
		}
		at, err := unixMillis(d.TS)
		if err != nil {
			return nil, err
		}
		q, err := quote(o.Name(), p, d.Last, at, received)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}
