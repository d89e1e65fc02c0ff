package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/fs"
)

// Config configures a Node. Zero values take the documented defaults.
type Config struct {
	// Dir is the node's data directory (created if missing).
	Dir string
	// Bind is the raft TCP address; default "127.0.0.1:0" (loopback, a free
	// port). Advertise defaults to the bound address.
	Bind      string
	Advertise string
	// ID is the raft server ID. It is stored in DIR/node-id on first open
	// and must not change afterwards; default: a random ID. (The address may
	// change for a single voter; peers of a cluster need a fixed Bind.)
	ID string
	// Bootstrap makes a fresh node (no stored state) the single voter of a
	// new cluster. A node that will be added with AddVoter leaves it false.
	Bootstrap bool

	Sequencer SequencerConfig

	// Snapshot schedule: after SnapshotEntries log entries (raft's
	// threshold, checked every SnapshotInterval) or SnapshotBytes applied
	// command bytes, whichever comes first. Defaults 8192, 30 s, 64 MiB.
	SnapshotEntries  uint64
	SnapshotInterval time.Duration
	SnapshotBytes    int64
	// SnapshotsRetained is how many snapshots stay on disk; default 3.
	SnapshotsRetained int
	// TrailingLogs is how many entries survive compaction after a snapshot.
	// Default: all of them (math.MaxUint64), because `verify` replays from
	// the first entry; set a bound once the log is archived elsewhere.
	TrailingLogs uint64

	// Raft timing. Defaults: heartbeat and election 500 ms, lease 250 ms.
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	LeaderLease      time.Duration

	// HWMInterval is how often the durable high-water mark is advanced;
	// default 100 ms (one small fsync each time). A record below the mark
	// that raft-wal cannot read makes Open refuse; within the last interval
	// before a crash, a broken frame header looks like a torn write.
	HWMInterval time.Duration

	// Clock is the wall clock in ns since the Unix epoch; default time.Now.
	Clock func() int64
	// LogOutput receives raft's own log lines; default io.Discard.
	LogOutput io.Writer

	// fault injects storage errors (tests only).
	fault func(op string) error
}

// Node is one raft voter holding the journal and the state machine.
type Node struct {
	cfg   Config
	raft  *raft.Raft
	trans *raft.NetworkTransport
	wal   *walStore
	snaps *raft.FileSnapshotStore
	fsm   *fsm
	audit *auditWriter
	seq   *Sequencer
	sfs   *stickyFS

	failOnce sync.Once
	fatalErr error
	dead     chan struct{} // closed on fatal error
	quit     chan struct{}
	bg       sync.WaitGroup
	closeMu  sync.Mutex
	closed   bool
	hwm      uint64
	ready    atomic.Bool // Open finished; the join service may use raft
	// liveMu keeps the stores open while a ReplayLive reads them (read
	// lock); Shutdown takes the write lock before closing them.
	liveMu sync.RWMutex
}

// Open opens (or creates) the data directory, verifies the stored log, and
// starts a raft node applying committed batches to sm. sm must be empty:
// raft restores the latest snapshot into it and then applies the log tail.
func Open(cfg Config, sm StateMachine) (*Node, error) {
	if cfg.Dir == "" {
		return nil, errors.New("journal: Config.Dir is required")
	}
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1:0"
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 8192
	}
	if cfg.SnapshotInterval == 0 {
		cfg.SnapshotInterval = 30 * time.Second
	}
	if cfg.SnapshotBytes == 0 {
		cfg.SnapshotBytes = 64 << 20
	}
	if cfg.SnapshotsRetained == 0 {
		cfg.SnapshotsRetained = 3
	}
	if cfg.TrailingLogs == 0 {
		cfg.TrailingLogs = math.MaxUint64
	}
	if cfg.HeartbeatTimeout == 0 {
		cfg.HeartbeatTimeout = 500 * time.Millisecond
	}
	if cfg.ElectionTimeout == 0 {
		cfg.ElectionTimeout = 500 * time.Millisecond
	}
	if cfg.LeaderLease == 0 {
		cfg.LeaderLease = min(250*time.Millisecond, cfg.HeartbeatTimeout)
	}
	if cfg.HWMInterval == 0 {
		cfg.HWMInterval = 100 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = func() int64 { return time.Now().UnixNano() }
	}
	if cfg.LogOutput == nil {
		cfg.LogOutput = io.Discard
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}

	n := &Node{cfg: cfg, dead: make(chan struct{}), quit: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			n.closeStores()
		}
	}()

	var err error
	if n.hwm, err = readHWM(cfg.Dir); err != nil {
		return nil, err
	}
	n.sfs = &stickyFS{inner: fs.New(), fault: cfg.fault}
	if n.wal, err = openWAL(cfg.Dir, n.sfs); err != nil {
		return nil, err
	}
	if n.snaps, err = raft.NewFileSnapshotStore(cfg.Dir, cfg.SnapshotsRetained, cfg.LogOutput); err != nil {
		return nil, fmt.Errorf("journal: snapshot store: %w", err)
	}
	snapIndex, err := latestSnapshotIndex(n.snaps)
	if err != nil {
		return nil, err
	}
	if err := checkLog(n.wal, snapIndex, n.hwm); err != nil {
		return nil, fmt.Errorf("journal: refusing to start from %s: %w", cfg.Dir, err)
	}
	if n.audit, err = openAudit(cfg.Dir); err != nil {
		return nil, err
	}
	n.fsm = newFSM(sm, n.audit)

	var advertise net.Addr
	if cfg.Advertise != "" {
		if advertise, err = net.ResolveTCPAddr("tcp", cfg.Advertise); err != nil {
			return nil, err
		}
	}
	stream, err := newMuxStream(cfg.Bind, advertise)
	if err != nil {
		return nil, fmt.Errorf("journal: listen on %s: %w", cfg.Bind, err)
	}
	stream.join = n.serveJoin
	n.trans = raft.NewNetworkTransport(stream, 3, 10*time.Second, cfg.LogOutput)
	addr := n.trans.LocalAddr()
	if n.cfg.ID, err = nodeID(cfg.Dir, cfg.ID); err != nil {
		return nil, err
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.ID)
	rc.SnapshotThreshold = cfg.SnapshotEntries
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLease
	rc.CommitTimeout = 5 * time.Millisecond
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Output: cfg.LogOutput, Level: hclog.Warn})

	logs := &guardedLog{walStore: n.wal, onFatal: n.fail}
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, n.wal, n.snaps)
		if err != nil {
			return nil, err
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: rc.LocalID, Address: addr}}}
			if err := raft.BootstrapCluster(rc, logs, n.wal, n.snaps, n.trans, conf); err != nil {
				return nil, fmt.Errorf("journal: bootstrap: %w", err)
			}
		}
	}
	if n.raft, err = raft.NewRaft(rc, n.fsm, logs, n.wal, n.snaps, n.trans); err != nil {
		return nil, fmt.Errorf("journal: start raft: %w", err)
	}
	n.seq = newSequencer(cfg.Sequencer, n.raft, cfg.Clock, n.fsm.lastTime.Load)
	if err := n.Err(); err != nil {
		// A storage failure while raft started (n.fail ran before the
		// sequencer existed); do not hand out a node that cannot write.
		n.seq.stop(err)
		n.raft.Shutdown().Error()
		n.seq.wait()
		return nil, err
	}
	ok = true
	n.ready.Store(true)

	n.bg.Add(1)
	go n.housekeep()
	return n, nil
}

func latestSnapshotIndex(s *raft.FileSnapshotStore) (uint64, error) {
	metas, err := s.List()
	if err != nil {
		return 0, err
	}
	if len(metas) == 0 {
		return 0, nil
	}
	return metas[0].Index, nil
}

// housekeep advances the high-water mark and takes byte-triggered snapshots.
func (n *Node) housekeep() {
	defer n.bg.Done()
	hwmTick := time.NewTicker(n.cfg.HWMInterval)
	defer hwmTick.Stop()
	snapTick := time.NewTicker(100 * time.Millisecond)
	defer snapTick.Stop()
	for {
		select {
		case <-n.quit:
			return
		case <-n.dead:
			return
		case <-hwmTick.C:
			n.advanceHWM()
		case <-snapTick.C:
			if n.fsm.bytesSinceSnap.Load() >= n.cfg.SnapshotBytes {
				// Errors here (e.g. nothing new) are harmless; the
				// entry-count schedule still applies.
				_ = n.raft.Snapshot().Error()
			}
		}
	}
}

// advanceHWM records the applied index as durable. Applied entries were
// stored by this node before they were applied, so the mark never runs
// ahead of the local log. Not done after a storage failure.
func (n *Node) advanceHWM() {
	if n.sfs.failed() != nil {
		return
	}
	idx := n.fsm.appliedIndex.Load()
	if idx <= n.hwm {
		return
	}
	if err := writeHWM(n.cfg.Dir, idx); err != nil {
		n.fail(fmt.Errorf("%w: write high-water mark: %v", ErrStorage, err))
		return
	}
	n.hwm = idx
}

// fail stops the node after a storage failure: queued and later commands
// fail with err, raft shuts down (so it cannot retry the write as a new
// candidate), and Dead is closed.
func (n *Node) fail(err error) {
	n.failOnce.Do(func() {
		n.fatalErr = err
		if n.seq != nil {
			n.seq.stop(err)
		}
		close(n.dead)
		go func() {
			if n.raft != nil {
				n.raft.Shutdown()
			}
		}()
	})
}

// Dead is closed when the node has stopped on a fatal error; Err says why.
// A server should exit non-zero then; restart recovers from disk.
func (n *Node) Dead() <-chan struct{} { return n.dead }

// Err returns the fatal error that stopped the node, or nil.
func (n *Node) Err() error {
	select {
	case <-n.dead:
		return n.fatalErr
	default:
		return nil
	}
}

// Submit proposes one command and returns the engine's result once the
// batch holding it is committed and applied. See Sequencer.Submit.
func (n *Node) Submit(ctx context.Context, cmd []byte) ([]byte, error) {
	return n.seq.Submit(ctx, cmd)
}

// SubmitMany proposes cmds as one uninterrupted run, applied consecutively
// in order, and returns their results once all are applied. See
// Sequencer.SubmitMany.
func (n *Node) SubmitMany(ctx context.Context, cmds [][]byte) ([][]byte, error) {
	return n.seq.SubmitMany(ctx, cmds)
}

// Addr is the node's raft address; ID its raft server ID.
func (n *Node) Addr() string { return string(n.trans.LocalAddr()) }
func (n *Node) ID() string   { return n.cfg.ID }

// IsLeader reports whether this node currently leads.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the current leader's address and ID ("" if unknown).
func (n *Node) Leader() (addr, id string) {
	a, i := n.raft.LeaderWithID()
	return string(a), string(i)
}

// AddVoter adds a node as a voter. It must be called on the leader; the
// joining node must have been opened with Bootstrap false.
func (n *Node) AddVoter(id, addr string, timeout time.Duration) error {
	return n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout).Error()
}

// WaitLeader waits until some node is known as leader.
func (n *Node) WaitLeader(ctx context.Context) error {
	for {
		if a, _ := n.raft.LeaderWithID(); a != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.dead:
			return n.fatalErr
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Barrier (leader only) waits until every entry before it is applied here.
func (n *Node) Barrier(timeout time.Duration) error { return n.raft.Barrier(timeout).Error() }

// Snapshot takes a snapshot now.
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }

// Status is a consistent view of the applied state.
type Status struct {
	Index     uint64   // last applied raft index
	Time      int64    // engine time of the last applied batch
	Batches   uint64   // batches applied since the first entry
	Commands  uint64   // commands applied since the first entry
	Chain     [32]byte // audit chain head
	StateHash [32]byte // engine state hash
}

// Status returns the applied index, audit chain head and state hash.
func (n *Node) Status() Status {
	st, h := n.fsm.status()
	return Status{Index: st.Index, Time: st.Time, Batches: st.Batches, Commands: st.Commands, Chain: st.Chain, StateHash: h}
}

// WaitApplied waits until the applied index reaches idx.
func (n *Node) WaitApplied(ctx context.Context, idx uint64) error {
	for n.fsm.appliedIndex.Load() < idx {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.dead:
			return n.fatalErr
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// ClockBehind counts batches this node stamped while its wall clock was
// behind engine time (see Sequencer.ClockBehind); export it as a metric.
func (n *Node) ClockBehind() uint64 { return n.seq.ClockBehind() }

// LastIndex is the last index in this node's log.
func (n *Node) LastIndex() uint64 { return n.raft.LastIndex() }

// Shutdown stops the node: new commands fail, raft stops, the high-water
// mark is advanced to the applied index and the stores are closed. It
// returns the fatal error if the node had already failed.
func (n *Node) Shutdown() error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed {
		return n.Err()
	}
	n.closed = true
	n.seq.stop(ErrStopped)
	close(n.quit)
	err := n.raft.Shutdown().Error()
	n.seq.wait()
	n.bg.Wait()
	n.advanceHWM()
	n.liveMu.Lock() // live replays see quit closed and return
	defer n.liveMu.Unlock()
	if cerr := n.closeStores(); err == nil {
		err = cerr
	}
	if ferr := n.Err(); ferr != nil {
		return ferr
	}
	return err
}

func (n *Node) closeStores() error {
	var errs []error
	if n.trans != nil {
		errs = append(errs, n.trans.Close())
	}
	if n.audit != nil {
		errs = append(errs, n.audit.close())
	}
	if n.wal != nil {
		errs = append(errs, n.wal.Close())
	}
	return errors.Join(errs...)
}

// nodeID returns the node's persistent raft ID: the one stored in dir, or
// want (or a fresh random one) stored on first use. Raft's configuration
// names voters by ID, so a node that came back under another ID would not
// find itself among the voters and would never lead.
func nodeID(dir, want string) (string, error) {
	p := filepath.Join(dir, "node-id")
	b, err := os.ReadFile(p)
	if err == nil {
		have := strings.TrimSpace(string(b))
		if want != "" && want != have {
			return "", fmt.Errorf("journal: %s belongs to node %q, not %q", dir, have, want)
		}
		return have, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if want == "" {
		var r [8]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", err
		}
		want = "node-" + hex.EncodeToString(r[:])
	}
	if err := writeFileDurable(dir, "node-id", []byte(want+"\n")); err != nil {
		return "", err
	}
	return want, nil
}
