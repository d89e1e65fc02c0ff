package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

// A node started with read_store: none trades and answers history from
// memory, and writes no read store.
func TestServeWithoutReadStore(t *testing.T) {
	s, ops := testNode(t, serveConfig{ReadStore: "none"})
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
	if _, err := os.Stat(filepath.Join(s.cfg.Data, "read.db")); !os.IsNotExist(err) {
		t.Fatalf("a read store was written: %v", err)
	}
}

// The deployment read_store: none is for: a leader without the projector
// and a follower with it. Orders placed on the leader reach the follower's
// read store, and the follower's API pages them from it, client order ids
// included, though its memory rings hold only the newest.
func TestFollowerKeepsTheReadStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two nodes")
	}
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	ops := testKeys(t, a)
	ks, err := openKeys(a)
	if err != nil {
		t.Fatal(err)
	}
	tid, tsecret := newSecretKey() // client 1's key, on both nodes (keys are node files)
	ks.Put(&gateway.Key{ID: tid, Secret: []byte(tsecret), Account: 1, Perms: gateway.PermRead | gateway.PermTrade})
	keys, err := os.ReadFile(filepath.Join(a, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(b, 0o700)
	os.WriteFile(filepath.Join(b, "keys.json"), keys, 0o600)
	log := quietLog()
	raftA := freePort(t)
	leader, err := startService(serveConfig{Data: a, HTTP: "127.0.0.1:0", Raft: raftA, Operators: testOperators(), ReadStore: "none"}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	follower, err := startService(serveConfig{Data: b, HTTP: "127.0.0.1:0", Raft: freePort(t), Join: raftA, Operators: testOperators()}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	if id := setupClient(t, leader.URL(), ops); id != "1" {
		t.Fatalf("first client got id %s", id)
	}
	trader := client.New(leader.URL(), tid, tsecret)
	ctx := context.Background()
	if err := trader.AcceptDisclosure(ctx, 1); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		if _, err := trader.Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit", PostOnly: true,
			Price: strconv.Itoa(64500 + i), Qty: "0.001", ClientOrderID: "f-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Page the follower's history to the end (the memory ring keeps far
	// fewer than n orders per page boundary; deep pages come from its store).
	onFollower := at(trader, follower.URL())
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := map[string]bool{}
		before := ""
		for page := 0; page < 10; page++ {
			var h struct {
				Orders []struct {
					ClientOrderID string `json:"client_order_id"`
				} `json:"orders"`
				NextBefore json.Number `json:"next_before"`
			}
			path := "/v1/orders/history?limit=7"
			if before != "" {
				path += "&before=" + before
			}
			if err := onFollower.Do(ctx, "GET", path, nil, &h); err != nil {
				t.Fatal(err)
			}
			for _, o := range h.Orders {
				got[o.ClientOrderID] = true
			}
			if before = h.NextBefore.String(); before == "" {
				break
			}
		}
		if len(got) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follower's history holds %d of %d orders: %v", len(got), n, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(b, "read.db")); err != nil {
		t.Fatalf("the follower has no read store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a, "read.db")); !os.IsNotExist(err) {
		t.Fatalf("the leader wrote a read store: %v", err)
	}
}
