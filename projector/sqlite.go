package projector

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver (pure Go)
)

// SQLite is the default read store: one file, no server.
//
// Durability: WAL journal with synchronous=FULL, so a committed flush (rows
// and last_seq together) survives a crash of the process or the machine.
type SQLite struct {
	db    *sql.DB
	store *Store

	mu    sync.Mutex // guards stmts
	stmts map[stmtKey]*sql.Stmt
	args  []any // reused by Write (one writer: the projector)
}

// OpenSQLite opens (creating if needed) the read store at path.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)",
		// Statement journals (a multi-row INSERT inside a transaction
		// keeps one to undo itself on a constraint failure) go to memory
		// rather than a temp file: they were an eighth of the projector's
		// CPU, in write(2) calls. Durability is the WAL's, unchanged.
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
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, sqliteDDL(stmt)); err != nil {
			db.Close()
			return nil, fmt.Errorf("projector: sqlite schema: %w", err)
		}
	}
	return &SQLite{db: db, store: &Store{db: db}, stmts: map[stmtKey]*sql.Stmt{}}, nil
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

// Write implements Sink: cached multi-row inserts inside one transaction.
func (s *SQLite) Write(ctx context.Context, prev uint64, rows *Rows) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE projector_state SET last_seq = ?, last_time = ?, updated_at = ? WHERE id = 1 AND last_seq = ?`,
		int64(rows.Last), rows.Time, time.Now().UnixNano(), int64(prev))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ErrStateMoved
	}
	for _, t := range rows.tables() {
		if err := s.insert(ctx, tx, t.name, t.cols, t.rows, ""); err != nil {
			return err
		}
	}
	if err := s.insert(ctx, tx, "positions_latest", latestCols, rows.LatestRows(), upsertLatest); err != nil {
		return err
	}
	return tx.Commit()
}

// upsertLatest keeps the newest position per (client, market).
const upsertLatest = ` ON CONFLICT (client, market) DO UPDATE SET seq = excluded.seq, time = excluded.time, size = excluded.size,
	cost = excluded.cost, realized = excluded.realized, mark = excluded.mark, liq_price = excluded.liq_price`

// sqliteChunks are the row counts of the multi-row INSERT statements a
// flush is cut into, largest first. Parsing SQL is most of the per-statement
// cost in the pure-Go driver (a profile of `bench api` had statement
// preparation at a third of the projector's CPU when every flush prepared
// statements sized to its own row count), so the shapes are fixed and each
// is prepared once per table and connection, then reused by every flush.
// 256 rows × 15 columns stays far below SQLite's 32,766 parameters.
var sqliteChunks = []int{256, 32, 4, 1}

// stmtKey names one cached statement shape.
type stmtKey struct {
	table string
	rows  int
}

// stmt returns the cached statement inserting n rows into table.
func (s *SQLite) stmt(ctx context.Context, table string, cols []string, n int, suffix string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := stmtKey{table, n}
	if st, ok := s.stmts[k]; ok {
		return st, nil
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + suffix
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.stmts[k] = st
	return st, nil
}

// insert writes rows in chunks of the fixed shapes, through the cached
// statements bound to the transaction (database/sql reuses a statement
// already prepared on the transaction's connection).
func (s *SQLite) insert(ctx context.Context, tx *sql.Tx, name string, cols []string, rows [][]any, suffix string) error {
	for _, n := range sqliteChunks {
		if len(rows) < n {
			continue
		}
		st, err := s.stmt(ctx, name, cols, n, suffix)
		if err != nil {
			return err
		}
		txst := tx.StmtContext(ctx, st)
		for len(rows) >= n {
			s.args = s.args[:0]
			for _, r := range rows[:n] {
				s.args = append(s.args, r...)
			}
			if _, err := txst.ExecContext(ctx, s.args...); err != nil {
				txst.Close()
				return fmt.Errorf("projector: insert into %s (seq %v-%v): %w", name, rows[0][0], rows[n-1][0], err)
			}
			rows = rows[n:]
		}
		if err := txst.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Store implements Sink.
func (s *SQLite) Store() *Store { return s.store }

// Close implements Sink.
func (s *SQLite) Close() error {
	s.mu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.mu.Unlock()
	return s.db.Close()
}
