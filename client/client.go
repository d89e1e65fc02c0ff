// Package client is a small Go client for Sampan's native REST API. It signs
// requests the way the gateway checks them and turns error answers into
// *APIError values. The demo's bots trade through it, over loopback, exactly
// as an external bot would.
package client

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Client talks to one Sampan server with one API key (or none, for public
// endpoints).
type Client struct {
	Base   string // e.g. http://127.0.0.1:8080
	Key    string
	Secret []byte
	HTTP   *http.Client
	Now    func() time.Time
}

// New returns a client for base with an API key.
func New(base, key, secret string) *Client {
	return &Client{Base: base, Key: key, Secret: []byte(secret), HTTP: &http.Client{Timeout: 10 * time.Second}, Now: time.Now}
}

// APIError is a non-2xx answer: the HTTP status and the gateway's
// {code, message, field}.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// sign mirrors gateway.Sign: hex(HMAC-SHA256(secret, ts + METHOD + path?query + body)).
func sign(secret []byte, ts int64, method, pathQuery string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte(method))
	mac.Write([]byte(pathQuery))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Do sends a request with a JSON body (nil for none), signed when the client
// has a key, and decodes a 2xx JSON answer into out (if non-nil).
func (c *Client) Do(ctx context.Context, method, pathQuery string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+pathQuery, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Key != "" {
		ts := c.Now().UnixMilli()
		req.Header.Set("X-Sampan-Key", c.Key)
		req.Header.Set("X-Sampan-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Sampan-Signature", sign(c.Secret, ts, method, req.URL.RequestURI(), raw))
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			e.Code, e.Message = "HTTP_"+strconv.Itoa(resp.StatusCode), string(data)
		}
		return e
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Order is a new order, with decimal strings for price and quantity.
type Order struct {
	Symbol        string `json:"symbol"`
	Side          string `json:"side"`
	Type          string `json:"type"`
	TimeInForce   string `json:"time_in_force,omitempty"`
	PostOnly      bool   `json:"post_only,omitempty"`
	ReduceOnly    bool   `json:"reduce_only,omitempty"`
	Price         string `json:"price,omitempty"`
	Qty           string `json:"qty"`
	ClientOrderID string `json:"client_order_id,omitempty"`
}

// Place sends one order and returns the server's answer as a generic map.
func (c *Client) Place(ctx context.Context, o Order) (map[string]any, error) {
	var out map[string]any
	err := c.Do(ctx, http.MethodPost, "/v1/orders", o, &out)
	return out, err
}

// CancelAll cancels every open order of the key's account (in one market
// when symbol is not empty).
func (c *Client) CancelAll(ctx context.Context, symbol string) error {
	p := "/v1/orders"
	if symbol != "" {
		p += "?symbol=" + symbol
	}
	return c.Do(ctx, http.MethodDelete, p, nil, nil)
}
