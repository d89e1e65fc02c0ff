package projector

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver (pure Go)
)

// SQLite is the default read store: one file, no server.
//
// Durability: WAL journal with synchronous=NORMAL. A committed flush (rows
// and last_seq together) survives a crash of the process; a power loss may
// undo the newest flushes, but never half of one (the WAL is atomic per
// transaction), and the projector resumes from the last_seq that survived
// and re-projects the rest from the journal, the source of truth. See
// docs/read-store.md, "SQLite write cost".
type SQLite struct {
	db    *sql.DB
	store *Store

	// w is the projector's writer connection, held for the store's life
	// (Write is called by one goroutine: the projector). It is nil until
	// the first Write and after a failed one, which drops it.
	w *writer
}

// OpenSQLite opens (creating if needed) the read store at path.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(ON)",
		// Statement journals (a multi-row INSERT inside a transaction
		// keeps one to undo itself on a constraint failure) go to memory
		// rather than a temp file: they were an eighth of the projector's
		// CPU, in write(2) calls.
		"temp_store(MEMORY)", "cache_size(-16384)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("projector: open sqlite %s: %w", path, err)
	}
	// One writer at a time is SQLite's rule anyway; a few connections let
	// queries read (WAL) while the projector writes.
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	if err := migrateEvents(ctx, db, sqliteEventsTable, sqliteDDL); err != nil {
		db.Close()
		return nil, fmt.Errorf("projector: sqlite %s: %w", path, err)
	}
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, sqliteDDL(stmt)); err != nil {
			db.Close()
			return nil, fmt.Errorf("projector: sqlite schema: %w", err)
		}
	}
	if err := addOrderText(ctx, db, sqliteOrderText); err != nil {
		db.Close()
		return nil, err
	}
	return &SQLite{db: db, store: &Store{db: db}}, nil
}

// sqliteDDL adapts the shared schema to SQLite's storage. In SQLite only a
// column declared exactly "INTEGER PRIMARY KEY" is the table's rowid; a
// "BIGINT PRIMARY KEY" is a separate unique index beside a hidden rowid, so
// every row cost one B-tree insert more than needed (a third of the
// inserts of the events and orders tables). Tables with a composite key are
// stored WITHOUT ROWID, clustered on that key, for the same reason. Types,
// keys and constraints are unchanged (SQLite's INTEGER is 64-bit; a
// repeated seq still fails its transaction). A store created before keeps
// its layout: CREATE TABLE IF NOT EXISTS leaves it alone, and both work.
func sqliteDDL(stmt string) string {
	// SQLite has no CREATE OR REPLACE VIEW; a view there holds no grants.
	if v, ok := strings.CutPrefix(stmt, "CREATE OR REPLACE VIEW events"); ok {
		return "DROP VIEW IF EXISTS events; CREATE VIEW events" + v
	}
	stmt = strings.Replace(stmt, "seq BIGINT PRIMARY KEY", "seq INTEGER PRIMARY KEY", 1)
	stmt = strings.Replace(stmt, "id BIGINT PRIMARY KEY", "id INTEGER PRIMARY KEY", 1)
	if strings.HasPrefix(stmt, "CREATE TABLE") && strings.Contains(stmt, "\tPRIMARY KEY (") {
		stmt += " WITHOUT ROWID"
	}
	return stmt
}

// LastSeq implements Sink.
func (s *SQLite) LastSeq(ctx context.Context) (uint64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT last_seq FROM projector_state WHERE id = 1`).Scan(&v)
	return uint64(v), err
}

// Write implements Sink: cached multi-row inserts inside one transaction,
// on the writer connection. Any failure drops that connection (and its
// statements), so a retry starts from a fresh one.
func (s *SQLite) Write(ctx context.Context, prev uint64, rows *Rows) error {
	if s.w == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		s.w = &writer{conn: c, stmts: map[stmtKey]driver.Stmt{}}
	}
	err := s.w.conn.Raw(func(dc any) error { return s.w.write(ctx, dc, prev, rows) })
	if err != nil {
		s.w.close()
		s.w = nil
	}
	return err
}

// writer writes through the driver's own connection, below database/sql:
// database/sql re-checks and converts every argument of every statement
// (a ninth of the projector's CPU under `bench api`) and, with a
// cancellable context, the driver starts a watcher goroutine per
// statement. The rows are already driver values (int64, string, bool,
// nil), and the context is checked between statements instead.
type writer struct {
	conn  *sql.Conn
	stmts map[stmtKey]driver.Stmt // prepared on conn, reused by every flush
	args  []driver.NamedValue     // reused by every statement
}

func (w *writer) write(ctx context.Context, dc any, prev uint64, rows *Rows) error {
	c, ok := dc.(interface {
		driver.ConnBeginTx
		driver.ConnPrepareContext
	})
	if !ok {
		return fmt.Errorf("projector: sqlite driver connection %T cannot begin or prepare", dc)
	}
	tx, err := c.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return err
	}
	if err := w.writeTx(ctx, c, prev, rows); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (w *writer) writeTx(ctx context.Context, c driver.ConnPrepareContext, prev uint64, rows *Rows) error {
	st, err := w.stmt(c, stmtKey{table: "projector_state"}, func() string {
		return `UPDATE projector_state SET last_seq = ?, last_time = ?, updated_at = ? WHERE id = 1 AND last_seq = ?`
	})
	if err != nil {
		return err
	}
	w.args = append(w.args[:0], driver.NamedValue{Ordinal: 1, Value: int64(rows.Last)}, driver.NamedValue{Ordinal: 2, Value: rows.Time},
		driver.NamedValue{Ordinal: 3, Value: time.Now().UnixNano()}, driver.NamedValue{Ordinal: 4, Value: int64(prev)})
	res, err := st.(driver.StmtExecContext).ExecContext(context.Background(), w.args)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ErrStateMoved
	}
	for _, t := range rows.tables() {
		if err := w.insert(ctx, c, t.name, t.cols, t.rows, ""); err != nil {
			return err
		}
	}
	return w.insert(ctx, c, "positions_latest", latestCols, rows.LatestRows(), upsertLatest)
}

// upsertLatest keeps the newest position per (client, market).
const upsertLatest = ` ON CONFLICT (client, market) DO UPDATE SET seq = excluded.seq, time = excluded.time, size = excluded.size,
	cost = excluded.cost, realized = excluded.realized, mark = excluded.mark, liq_price = excluded.liq_price`

// sqliteChunks are the row counts of the multi-row INSERT statements a
// flush is cut into, largest first. Parsing SQL is most of the per-statement
// cost in the pure-Go driver (a profile of `bench api` had statement
// preparation at a third of the projector's CPU when every flush prepared
// statements sized to its own row count), so the shapes are fixed and each
// is prepared once per table on the writer connection, then reused by every
// flush. 256 rows × 15 columns stays far below SQLite's 32,766 parameters.
var sqliteChunks = []int{256, 32, 4, 1}

// stmtKey names one cached statement shape.
type stmtKey struct {
	table string
	rows  int
}

// stmt returns the cached statement k, preparing query() on first use.
func (w *writer) stmt(c driver.ConnPrepareContext, k stmtKey, query func() string) (driver.Stmt, error) {
	if st, ok := w.stmts[k]; ok {
		return st, nil
	}
	st, err := c.PrepareContext(context.Background(), query())
	if err != nil {
		return nil, err
	}
	if _, ok := st.(driver.StmtExecContext); !ok {
		st.Close()
		return nil, fmt.Errorf("projector: sqlite statement %T cannot exec", st)
	}
	w.stmts[k] = st
	return st, nil
}

// insert writes rows in chunks of the fixed shapes.
func (w *writer) insert(ctx context.Context, c driver.ConnPrepareContext, name string, cols []string, rows [][]any, suffix string) error {
	for _, n := range sqliteChunks {
		if len(rows) < n {
			continue
		}
		st, err := w.stmt(c, stmtKey{name, n}, func() string {
			one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
			return "INSERT INTO " + name + " (" + strings.Join(cols, ", ") + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + suffix
		})
		if err != nil {
			return err
		}
		for len(rows) >= n {
			if err := ctx.Err(); err != nil {
				return err
			}
			w.args = w.args[:0]
			for _, r := range rows[:n] {
				for _, v := range r {
					w.args = append(w.args, driver.NamedValue{Ordinal: len(w.args) + 1, Value: v})
				}
			}
			if _, err := st.(driver.StmtExecContext).ExecContext(context.Background(), w.args); err != nil {
				return fmt.Errorf("projector: insert into %s (seq %v-%v): %w", name, rows[0][0], rows[n-1][0], err)
			}
			rows = rows[n:]
		}
	}
	return nil
}

// close closes the statements and returns the connection to the pool.
// The statements are closed inside Raw, while the connection is still this
// writer's; a connection database/sql already closed (bad) took them along.
func (w *writer) close() {
	w.conn.Raw(func(any) error {
		for k, st := range w.stmts {
			st.Close()
			delete(w.stmts, k)
		}
		return nil
	})
	w.conn.Close()
}

// Store implements Sink.
func (s *SQLite) Store() *Store { return s.store }

// Close implements Sink.
func (s *SQLite) Close() error {
	if s.w != nil {
		s.w.close()
		s.w = nil
	}
	return s.db.Close()
}
