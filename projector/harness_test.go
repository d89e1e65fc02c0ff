package projector

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/exchange"
)

// sinkCase opens one kind of store; open reopens the same store (a restart).
type sinkCase struct {
	name string
	open func(t testing.TB) Sink
}

// sinks returns SQLite always and PostgreSQL when SAMPAN_PG_DSN is set.
// With SAMPAN_REQUIRE_PG=1 (CI), a missing or unreachable server fails the
// test instead of skipping PostgreSQL.
func sinks(t testing.TB) []sinkCase {
	t.Helper()
	cases := []sinkCase{sqliteCase(t)}
	if dsn := pgDSN(t); dsn != "" {
		cases = append(cases, sinkCase{name: "postgres", open: func(t testing.TB) Sink {
			s, err := OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}})
	}
	return cases
}

// sqliteCase is a fresh SQLite store in a temporary directory.
func sqliteCase(t testing.TB) sinkCase {
	path := filepath.Join(t.TempDir(), "read.db")
	return sinkCase{name: "sqlite", open: func(t testing.TB) Sink {
		s, err := OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

// pgDSN returns a DSN for a fresh, private schema on the test server (""
// when PostgreSQL tests are skipped); the schema is dropped after the test.
func pgDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SAMPAN_PG_DSN")
	require := os.Getenv("SAMPAN_REQUIRE_PG") == "1"
	if dsn == "" {
		if require {
			t.Fatal("SAMPAN_REQUIRE_PG=1 but SAMPAN_PG_DSN is not set (run .ci/postgres.sh and source its env file)")
		}
		t.Log("SAMPAN_PG_DSN not set: PostgreSQL sink not tested")
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if require {
			t.Fatalf("SAMPAN_REQUIRE_PG=1 but PostgreSQL is unreachable: %v", err)
		}
		t.Logf("PostgreSQL unreachable, not tested: %v", err)
		return ""
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn + " search_path=" + schema // key=value form
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// rng is splitmix64, so a seed names the same stream everywhere.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
func (r *rng) intn(n int) int             { return int(r.next() % uint64(n)) }
func (r *rng) chance(pct int) bool        { return r.intn(100) < pct }
func (r *rng) between(lo, hi int64) int64 { return lo + int64(r.next()%uint64(hi-lo+1)) }

// entry is one command of a test "log": what a node would replay.
type entry struct {
	now int64
	cmd []byte
}

const usd = 1_000_000 // quote units per USD

// genLog makes a plausible command stream of about n commands: clients
// onboarded and funded, three venues quoting both underlyings every minute
// (so index, mark, funding samples and hourly funding settle), crossing
// limit orders, cancels, withdrawals and transfers, over several hours.
func genLog(seed uint64, n int) []entry {
	r := rng(seed)
	var log []entry
	now := int64(1_800_000_000) * 1e9
	add := func(c engine.Command) {
		enc, err := engine.AppendCommand(nil, &c)
		if err != nil {
			panic(err)
		}
		log = append(log, entry{now: now, cmd: enc})
	}
	clients := 0
	key := uint64(0)
	base := [2]fixed.Price{650_000, 300_000}
	onboard := func() {
		clients++
		c := engine.ClientID(clients)
		key++
		add(engine.Command{Kind: engine.CmdCreateClient, Key: key, Ref: fmt.Sprintf("c%d", clients)})
		add(engine.Command{Kind: engine.CmdDeposit, Client: c, Key: key, Amount: fixed.Amount(r.between(50_000, 500_000) * usd)})
		add(engine.Command{Kind: engine.CmdSetClassification, Client: c, Key: key + 1, Class: engine.IndividualPI, Expiry: now + 365*24*3600e9})
		add(engine.Command{Kind: engine.CmdSetKnowledge, Client: c, Key: key + 2, Flag: true})
		key += 2
	}
	for range 4 {
		onboard()
	}
	for len(log) < n {
		// One minute: fresh quotes from three venues for both underlyings,
		// the sequencer's tick, then some trading.
		now += 60e9
		for m := range 2 {
			base[m] += fixed.Price(r.between(-int64(base[m])/400, int64(base[m])/400))
			for src := uint16(1); src <= 3; src++ {
				px := base[m] + fixed.Price(r.between(-int64(base[m])/2000, int64(base[m])/2000))
				add(engine.Command{Kind: engine.CmdQuote, Market: engine.MarketID(m), Source: src, Price: px, Observed: now - 1e9})
			}
		}
		add(engine.Command{Kind: engine.CmdTick})
		for range r.between(2, 12) {
			c := engine.ClientID(1 + r.intn(clients))
			m := engine.MarketID(r.intn(2))
			switch k := r.intn(100); {
			case k < 3 && clients < 30:
				onboard()
			case k < 8:
				key++
				add(engine.Command{Kind: engine.CmdDeposit, Client: c, Key: key, Amount: fixed.Amount(r.between(1, 50_000) * usd)})
			case k < 11:
				add(engine.Command{Kind: engine.CmdWithdraw, Client: c, Amount: fixed.Amount(r.between(1, 20_000) * usd)})
			case k < 13:
				from, to := engine.Derivatives, engine.Financing
				if r.chance(50) {
					from, to = to, from
				}
				add(engine.Command{Kind: engine.CmdTransfer, Client: c, From: from, To: to, Amount: fixed.Amount(r.between(1, 10_000) * usd)})
			case k < 20:
				add(engine.Command{Kind: engine.CmdCancelAll, Client: c, Market: m})
			default:
				side := book.Buy
				if r.chance(50) {
					side = book.Sell
				}
				off := r.between(-int64(base[m])/200, int64(base[m])/200)
				c2 := engine.Command{Kind: engine.CmdPlaceOrder, Client: c, Market: m, Side: side, Price: base[m] + fixed.Price(off),
					Qty: fixed.Qty(r.between(1, 500)), Key: key + 1}
				key++
				if key%2 == 0 { // half the orders named (no draw: the stream stays as it was)
					c2.Ref = fmt.Sprintf("o-%d", key)
				}
				if r.chance(25) {
					c2.TIF = book.IOC
				}
				add(c2)
			}
		}
	}
	return log
}

// applyLog applies entries to m.
func applyLog(m *exchange.Machine, log []entry) {
	for _, e := range log {
		m.Apply(e.now, e.cmd)
	}
}

// memBackfill is JournalBackfill over an in-memory log: a scratch machine
// re-applies the log from the start and its events blobs are decoded.
type memBackfill struct {
	log   []entry
	calls *int
}

func (b memBackfill) Events(ctx context.Context, from, to uint64, emit func([]engine.Event) error) error {
	if b.calls != nil {
		*b.calls++
	}
	m, err := exchange.NewMachine(engine.DefaultConfig())
	if err != nil {
		return err
	}
	for _, e := range b.log {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, blob := m.Apply(e.now, e.cmd)
		evs, err := exchange.DecodeEvents(blob)
		if err != nil {
			return err
		}
		var keep []engine.Event
		for _, ev := range evs {
			if ev.Seq >= from && (to == 0 || ev.Seq <= to) {
				keep = append(keep, ev)
			}
		}
		if len(keep) > 0 {
			if err := emit(keep); err != nil {
				return err
			}
		}
	}
	return nil
}

// reference applies the whole log to a fresh machine and returns every
// event it emitted, the machine, and snapshots taken every snapEvery
// commands (position in the log → snapshot bytes).
type snap struct {
	pos  int
	seq  uint64
	data []byte
}

// cum[i] is the seq after the first i commands.
func reference(t testing.TB, log []entry, snapEvery int) (all []engine.Event, m *exchange.Machine, snaps []snap, cum []uint64) {
	t.Helper()
	m, err := exchange.NewMachine(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cum = append(cum, 0)
	for i, e := range log {
		_, blob := m.Apply(e.now, e.cmd)
		evs, err := exchange.DecodeEvents(blob)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
		cum = append(cum, uint64(len(all)))
		if snapEvery > 0 && (i+1)%snapEvery == 0 {
			var b bytes.Buffer
			if err := m.Snapshot(&b); err != nil {
				t.Fatal(err)
			}
			snaps = append(snaps, snap{pos: i + 1, seq: uint64(len(all)), data: b.Bytes()})
		}
	}
	return all, m, snaps, cum
}

// waitSeq waits until the projector has committed seq, or fails.
func waitSeq(t *testing.T, p *Projector, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.LastSeq() < seq {
		select {
		case <-p.Done():
			t.Fatalf("projector stopped at seq %d (want %d): %v", p.LastSeq(), seq, p.Err())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("projector at seq %d, want %d", p.LastSeq(), seq)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// expectation is the independent recomputation the store is checked
// against: straight from the event stream, without the row mapping.
type expectation struct {
	byKind     map[string]int64
	tradeQty   map[engine.ClientID]int64 // taker + maker quantity
	fees       map[engine.ClientID]int64 // fees paid
	funding    map[engine.ClientID]int64 // funding received (signed)
	cash       map[engine.ClientID]int64 // deposits − withdrawals
	positions  map[[2]int64]engine.Event // latest EvPosition per (client, market)
	fundingN   int
	tradeCount int
}

func expect(evs []engine.Event) expectation {
	x := expectation{byKind: map[string]int64{}, tradeQty: map[engine.ClientID]int64{}, fees: map[engine.ClientID]int64{},
		funding: map[engine.ClientID]int64{}, cash: map[engine.ClientID]int64{}, positions: map[[2]int64]engine.Event{}}
	for _, ev := range evs {
		x.byKind[ev.Kind.String()]++
		switch ev.Kind {
		case engine.EvTrade:
			x.tradeCount++
			x.tradeQty[ev.Client] += int64(ev.Qty)
			x.tradeQty[ev.MakerClient] += int64(ev.Qty)
			x.fees[ev.Client] += int64(ev.TakerFee)
			x.fees[ev.MakerClient] += int64(ev.MakerFee)
		case engine.EvFundingPayment:
			x.fundingN++
			x.funding[ev.Client] += int64(ev.Amount)
		case engine.EvDeposited:
			x.cash[ev.Client] += int64(ev.Amount)
		case engine.EvWithdrawn:
			x.cash[ev.Client] -= int64(ev.Amount)
		case engine.EvPosition:
			x.positions[[2]int64{int64(ev.Client), int64(ev.Market)}] = ev
		}
	}
	return x
}

// check compares the store with the recomputation from the full stream,
// and with the engine's own positions.
func check(t *testing.T, s *Store, evs []engine.Event, eng *exchange.Machine) {
	t.Helper()
	ctx := context.Background()
	x := expect(evs)
	sum, err := s.Summarize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Contiguous() || sum.LastSeq != uint64(len(evs)) {
		t.Fatalf("events table: %d rows, seq %d-%d, last_seq %d; want exactly 1-%d", sum.Events, sum.MinSeq, sum.MaxSeq, sum.LastSeq, len(evs))
	}
	// Stored once: one row per event across events_other and the kind
	// tables, none of the kind tables' events in events_other.
	if n, own := physical(t, s); n != int64(len(evs)) || own != 0 {
		t.Fatalf("%d stored rows for %d events, %d own-table events in events_other", n, len(evs), own)
	}
	for k, n := range x.byKind {
		if sum.ByKind[k] != n {
			t.Errorf("kind %s: store %d, stream %d", k, sum.ByKind[k], n)
		}
	}
	if len(sum.ByKind) != len(x.byKind) {
		t.Errorf("kinds: store %v, stream %v", sum.ByKind, x.byKind)
	}
	// Per-client sums, aggregated by the database itself.
	agg := func(q string) map[engine.ClientID]int64 {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[engine.ClientID]int64{}
		for rows.Next() {
			var c, v int64
			if err := rows.Scan(&c, &v); err != nil {
				t.Fatal(err)
			}
			out[engine.ClientID(c)] += v
		}
		return out
	}
	same := func(what string, got, want map[engine.ClientID]int64) {
		t.Helper()
		for c, v := range want {
			if got[c] != v {
				t.Errorf("%s of client %d: store %d, stream %d", what, c, got[c], v)
			}
		}
		for c, v := range got {
			if _, ok := want[c]; !ok && v != 0 {
				t.Errorf("%s of client %d: store %d, stream none", what, c, v)
			}
		}
	}
	qty := agg(`SELECT taker_client, SUM(qty) FROM trades GROUP BY taker_client UNION ALL SELECT maker_client, SUM(qty) FROM trades GROUP BY maker_client`)
	same("traded qty", qty, x.tradeQty)
	fees := agg(`SELECT client, -SUM(amount) FROM ledger WHERE kind = 'fee' GROUP BY client`)
	for c, v := range x.fees {
		if v == 0 {
			delete(x.fees, c)
		}
	}
	same("fees", fees, x.fees)
	same("funding", agg(`SELECT client, SUM(amount) FROM ledger WHERE kind = 'funding' GROUP BY client`), x.funding)
	same("cash", agg(`SELECT client, SUM(amount) FROM ledger WHERE kind IN ('deposit', 'withdrawal') GROUP BY client`), x.cash)

	// Latest positions: as the stream says, and as the engine holds them.
	ps, err := s.Positions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(x.positions) {
		t.Fatalf("positions_latest has %d rows, stream %d", len(ps), len(x.positions))
	}
	for _, p := range ps {
		ev := x.positions[[2]int64{int64(p.Client), int64(p.Market)}]
		if p.Seq != ev.Seq || p.Size != ev.Size || p.Cost != ev.Cost || p.Realized != ev.Realized {
			t.Errorf("position %d/%d: store %+v, stream %+v", p.Client, p.Market, p, ev)
		}
	}
	if eng != nil {
		eng.View(func(e *engine.Engine) {
			for c := 1; c <= e.Clients(); c++ {
				for _, ep := range e.Positions(engine.ClientID(c), nil) {
					ev, ok := x.positions[[2]int64{int64(c), int64(ep.Market)}]
					if !ok || ev.Size != ep.Size {
						t.Errorf("engine position %d/%d size %d, store %d", c, ep.Market, ep.Size, ev.Size)
					}
				}
			}
		})
	}
	// The report queries agree with the sums.
	for c, v := range x.funding {
		fp, err := s.FundingPayments(ctx, c, Range{})
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, m := range fp {
			got += int64(m.Amount)
		}
		if got != v {
			t.Errorf("FundingPayments(%d) sums to %d, want %d", c, got, v)
		}
	}
}

// projected runs a projector on a fresh store of sc over a fresh machine,
// applies log and waits until its n events are stored. The projector is
// stopped and closed when the test ends.
func projected(t *testing.T, sc sinkCase, log []entry, n int) *Projector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, sc.open(t), Config{FlushInterval: time.Millisecond})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	m := newMachine(t)
	p.Start(ctx, m)
	t.Cleanup(func() { cancel(); <-p.Done(); p.Close() })
	applyLog(m, log)
	waitSeq(t, p, uint64(n))
	return p
}

// splitRows makes the rows of events [0, at) and of [at, len) as two flushes.
func splitRows(all []engine.Event, at int) (first, rest *Rows) {
	first, rest = newRows(), newRows()
	for i := range all {
		if i < at {
			first.add(&all[i])
		} else {
			rest.add(&all[i])
		}
	}
	return first, rest
}
