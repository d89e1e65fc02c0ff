package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type health struct {
	Leader bool   `json:"leader"`
	Index  uint64 `json:"applied_index"`
	Hash   string `json:"state_hash"`
}

func healthOf(url string) (health, error) {
	var h health
	err := client.New(url, "", "").Do(context.Background(), "GET", "/healthz", nil, &h)
	return h, err
}

// TestClusterFailover starts three `sampan serve` processes on loopback
// (the second and third join the first with --join), loads the leader with
// orders, kills the leader with SIGKILL, and checks that a new leader is
// elected, that every acknowledged order is in its state, and that the two
// survivors reach the same state hash at the same applied index.
//
// API keys are node-local files (secrets never enter the replicated log), so
// the test gives all three nodes the same keys.json, as an operator would.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three nodes")
	}
	bin := sampanBinary(t)
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")}
	ops := testKeys(t, dirs[0])
	// The trader's key is made up front for client 1 (the first client the
	// test creates), so every node starts with it.
	ks, err := openKeys(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	tid, tsecret := newSecretKey()
	ks.Put(&gateway.Key{ID: tid, Secret: []byte(tsecret), Account: 1, Perms: gateway.PermRead | gateway.PermTrade})
	keys, err := os.ReadFile(filepath.Join(dirs[0], "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs[1:] {
		os.MkdirAll(d, 0o700)
		os.WriteFile(filepath.Join(d, "keys.json"), keys, 0o600)
	}
	type node struct {
		cmd  *exec.Cmd
		url  string
		raft string
	}
	nodes := make([]*node, 3)
	for i, d := range dirs {
		n := &node{raft: freePort(t)}
		args := []string{"serve", "--data", d, "--http", "127.0.0.1:0", "--raft", n.raft}
		if i > 0 {
			args = append(args, "--join", nodes[0].raft)
		}
		p := startServeArgs(t, bin, args)
		n.cmd, n.url = p.cmd, p.url
		nodes[i] = n
		defer func() { n.cmd.Process.Kill(); n.cmd.Wait() }()
	}
	leader := nodes[0]
	if id := setupClient(t, leader.url, ops); id != "1" {
		t.Fatalf("first client got id %s", id)
	}
	trader := client.New(leader.url, tid, tsecret)
	if err := trader.AcceptDisclosure(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 240; i++ {
				out, err := at(trader, leader.url).Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit",
					PostOnly: true, Price: fmt.Sprintf("%d", 62000+(w*200+i)%2000), Qty: "0.001", ClientOrderID: fmt.Sprintf("w%d-%d", w, i)})
				if err == nil {
					mu.Lock()
					acked[out["order_id"].(string)] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(150 * time.Millisecond) // mid-load
	leader.cmd.Process.Kill()
	leader.cmd.Wait()
	cancel()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}

	// A survivor becomes leader.
	var newLeader *node
	deadline := time.Now().Add(30 * time.Second)
	for newLeader == nil && time.Now().Before(deadline) {
		for _, n := range nodes[1:] {
			if h, err := healthOf(n.url); err == nil && h.Leader {
				newLeader = n
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if newLeader == nil {
		t.Fatal("no new leader within 30 s")
	}
	have := openOrderIDs(t, at(trader, newLeader.url))
	for id := range acked {
		if !have[id] {
			t.Fatalf("acknowledged order %s missing on the new leader (%d acked, %d open)", id, len(acked), len(have))
		}
	}
	// Survivors converge: same applied index, same state hash.
	var last [2]health
	for time.Now().Before(deadline) {
		for i, n := range nodes[1:] {
			last[i], _ = healthOf(n.url)
		}
		if last[0].Index == last[1].Index && last[0].Hash == last[1].Hash && last[0].Hash != "" {
			t.Logf("%d acknowledged orders survived the leader's death; survivors agree at index %d, state %s…", len(acked), last[0].Index, last[0].Hash[:16])
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("survivors did not converge: %+v", last)
}
