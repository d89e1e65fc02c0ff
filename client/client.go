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
	"sync"
	"sync/atomic"
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

// stamps holds each key's last signing timestamp. The server accepts a
// signed request once; two identical requests signed in the same
// millisecond (a quick retry, two polls of one endpoint) would be the same
// signature, and the second would be refused as a replay. So a key's
// timestamps rise strictly, running at most a second ahead of the clock
// (well inside the server's 5 s window).
var stamps sync.Map // key id → *atomic.Int64

func stamp(key string, now int64) int64 {
	v, _ := stamps.LoadOrStore(key, new(atomic.Int64))
	last := v.(*atomic.Int64)
	for {
		prev := last.Load()
		ts := max(now, prev+1)
		if ts > now+1000 {
			return now // more than a thousand a second for a second: let the clock catch up
		}
		if last.CompareAndSwap(prev, ts) {
			return ts
		}
	}
}

// Sign sets req's key, timestamp (the key's next, see stamps) and
// signature fields; body must be exactly the bytes req sends. Do signs its
// own requests; Sign is for a request built by hand (a raw body, extra
// fields).
func (c *Client) Sign(req *http.Request, body []byte) {
	ts := stamp(c.Key, c.Now().UnixMilli())
	req.Header.Set("X-Sampan-Key", c.Key)
	req.Header.Set("X-Sampan-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Sampan-Signature", sign(c.Secret, ts, req.Method, req.URL.RequestURI(), body))
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
		c.Sign(req, raw)
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

// Classification is the evidence form of a professional-investor
// classification (POST /v1/admin/clients/{id}/classification). Amounts are
// HKD decimal strings; EvidenceDate is the document's Hong Kong date,
// YYYY-MM-DD. The engine checks the thresholds and sets the expiry.
type Classification struct {
	Class          string `json:"class"`
	Evidence       string `json:"evidence,omitempty"`
	EvidenceDate   string `json:"evidence_date,omitempty"`
	PortfolioHKD   string `json:"portfolio_hkd,omitempty"`
	TotalAssetsHKD string `json:"total_assets_hkd,omitempty"`
	Reference      string `json:"reference,omitempty"`
}

// Knowledge is a derivatives-knowledge assessment.
type Knowledge struct {
	Basis     string `json:"basis"` // training | work_experience | prior_trades
	Trades    int64  `json:"trades,omitempty"`
	Reference string `json:"reference,omitempty"`
}

// Classify records a classification (a compliance officer's key).
func (c *Client) Classify(ctx context.Context, clientID string, cl Classification) (map[string]any, error) {
	var out map[string]any
	err := c.Do(ctx, http.MethodPost, "/v1/admin/clients/"+clientID+"/classification", cl, &out)
	return out, err
}

// RecordKnowledge records a knowledge assessment (a compliance officer's key).
func (c *Client) RecordKnowledge(ctx context.Context, clientID string, k Knowledge) error {
	return c.Do(ctx, http.MethodPost, "/v1/admin/clients/"+clientID+"/knowledge", k, nil)
}

// PublishDisclosure publishes the embedded risk-disclosure text of a
// version (a compliance officer's key).
func (c *Client) PublishDisclosure(ctx context.Context, version uint32) error {
	return c.Do(ctx, http.MethodPost, "/v1/admin/disclosures", map[string]uint32{"version": version}, nil)
}

// Disclosure is the current risk disclosure as a client sees it.
type Disclosure struct {
	Version         uint32 `json:"version"`
	Digest          string `json:"digest"`
	PublishedAt     string `json:"published_at"`
	Text            string `json:"text"`
	AcceptedVersion uint32 `json:"accepted_version"`
	Accepted        bool   `json:"accepted"`
	AcceptedAt      string `json:"accepted_at,omitempty"`
}

// CurrentDisclosure reads the current risk disclosure (a client key).
func (c *Client) CurrentDisclosure(ctx context.Context) (Disclosure, error) {
	var d Disclosure
	err := c.Do(ctx, http.MethodGet, "/v1/disclosure", nil, &d)
	return d, err
}

// AcceptDisclosure accepts a version, which must be the current one (a
// client key with the trade permission). A repeat is answered as replayed.
func (c *Client) AcceptDisclosure(ctx context.Context, version uint32) error {
	return c.Do(ctx, http.MethodPost, "/v1/account/disclosure/accept", map[string]uint32{"version": version}, nil)
}
