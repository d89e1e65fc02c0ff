package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/sampan-hk/sampan/client"
)

// A node started with read_store: none trades and answers history from
// memory, and writes no read store.
func TestServeWithoutReadStore(t *testing.T) {
	dir := t.TempDir()
	ops := testKeys(t, dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := startService(serveConfig{Data: dir, HTTP: "127.0.0.1:0", Raft: "127.0.0.1:0", Operators: testOperators(), ReadStore: "none"}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, mm := marginBook(t, s.URL(), ops)
	ctx := context.Background()
	placed, err := mm.Place(ctx, client.Order{Symbol: "BTC-USD", Side: "sell", Type: "limit", Price: "100000", Qty: "0.05", ClientOrderID: "ask-1"})
	if err != nil {
		t.Fatal(err)
	}
	var hist struct {
		Orders []struct {
			OrderID       string `json:"order_id"`
			ClientOrderID string `json:"client_order_id"`
		} `json:"orders"`
	}
	if err := mm.Do(ctx, "GET", "/v1/orders/history", nil, &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Orders) != 1 || hist.Orders[0].OrderID != placed["order_id"] || hist.Orders[0].ClientOrderID != "ask-1" {
		t.Fatalf("history from memory: %+v (placed %v)", hist, placed["order_id"])
	}
	if _, err := os.Stat(filepath.Join(dir, "read.db")); !os.IsNotExist(err) {
		t.Fatalf("a read store was written: %v", err)
	}
}
