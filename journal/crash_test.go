package journal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The SIGKILL test needs a real process to kill. TestMain re-executes the
// test binary as that process when crashNodeEnv is set: it runs a
// single-voter node with the bank under load and prints "ack ID" for each
// acknowledged command, after Submit returns.
const (
	crashNodeEnv = "SAMPAN_JOURNAL_CRASHNODE_DIR"
	crashBaseEnv = "SAMPAN_JOURNAL_CRASHNODE_BASE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashNodeEnv); dir != "" {
		runCrashNode(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runCrashNode(dir string) {
	base, _ := strconv.ParseUint(os.Getenv(crashBaseEnv), 10, 64)
	cfg := fastConfig(dir)
	cfg.SnapshotEntries = 64 // snapshots happen during the run too
	cfg.SnapshotInterval = 50 * time.Millisecond
	n, err := Open(cfg, newBank())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for !n.IsLeader() {
		time.Sleep(5 * time.Millisecond)
	}
	var out sync.Mutex
	fmt.Println("ready")
	var next atomic.Uint64
	next.Store(base)
	for range 16 {
		go func() {
			for {
				id := next.Add(1)
				if _, err := n.Submit(context.Background(), transfer(id, uint8(id), uint8(id>>4), uint32(id%777))); err != nil {
					continue
				}
				out.Lock()
				fmt.Printf("ack %d\n", id)
				out.Unlock()
			}
		}()
	}
	select {} // until SIGKILL
}

// TestSIGKILLUnderLoad (F1, D5 at process level): the serving process is
// killed with SIGKILL at random points under load and restarted, several
// times on one data directory. After each restart every command it
// acknowledged is in the state, the bank's conservation invariant holds,
// and finally both replays of verify agree.
func TestSIGKILLUnderLoad(t *testing.T) {
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	acked := map[uint64]bool{}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashNodeEnv+"="+dir, crashBaseEnv+"="+strconv.Itoa(round*1_000_000))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		lines := make(chan uint64, 1<<16)
		readDone := make(chan error, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			first := true
			for sc.Scan() {
				l := sc.Text()
				if first {
					first = false
					if l != "ready" {
						readDone <- fmt.Errorf("child said %q", l)
						close(ready)
						return
					}
					close(ready)
					continue
				}
				if id, ok := strings.CutPrefix(l, "ack "); ok {
					v, err := strconv.ParseUint(id, 10, 64)
					if err == nil {
						lines <- v
					}
				}
				// A partial last line (killed mid-print) is ignored: that
				// acknowledgement never reached the client.
			}
			readDone <- nil
		}()
		select {
		case <-ready:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatal("child did not start")
		}
		time.Sleep(time.Duration(50+rng.IntN(350)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if err := <-readDone; err != nil {
			t.Fatal(err)
		}
		close(lines)
		got := 0
		for id := range lines {
			acked[id] = true
			got++
		}
		if got == 0 {
			t.Fatalf("round %d: nothing acknowledged before the kill", round)
		}

		n, b := openReady(t, fastConfig(dir))
		n.fsm.mu.Lock()
		for id := range acked {
			if !b.seen[id] {
				n.fsm.mu.Unlock()
				n.Shutdown()
				t.Fatalf("round %d: acknowledged command %d lost after SIGKILL", round, id)
			}
		}
		b.check()
		n.fsm.mu.Unlock()
		if err := n.Shutdown(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d acknowledged this round, all %d present", round, got, len(acked))
	}
	rep, err := Verify(dir, newBankMachine)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verify: snapshot at %d, log to %d, %d audit records checked", rep.FromSnapshot.SnapshotIndex, rep.FromStart.Index, rep.AuditChecked)
	if !rep.Match || !rep.SnapshotMatches || len(rep.AuditMismatch) > 0 || rep.FromSnapshot.SnapshotIndex == 0 {
		var sb strings.Builder
		rep.Print(&sb)
		t.Fatalf("verify after crashes:\n%s", sb.String())
	}
}
