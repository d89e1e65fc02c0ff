package projector

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
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
}

// OpenSQLite opens (creating if needed) the read store at path.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
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
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("projector: sqlite schema: %w", err)
		}
	}
	return &SQLite{db: db, store: &Store{db: db}}, nil
}

// LastSeq implements Sink.
func (s *SQLite) LastSeq(ctx context.Context) (uint64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT last_seq FROM projector_state WHERE id = 1`).Scan(&v)
	return uint64(v), err
}

// Write implements Sink: prepared inserts inside one transaction.
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
		if err := sqliteInsert(ctx, tx, t.name, t.cols, t.rows, ""); err != nil {
			return err
		}
	}
	if err := sqliteInsert(ctx, tx, "positions_latest", latestCols, rows.LatestRows(), upsertLatest); err != nil {
		return err
	}
	return tx.Commit()
}

// upsertLatest keeps the newest position per (client, market).
const upsertLatest = ` ON CONFLICT (client, market) DO UPDATE SET seq = excluded.seq, time = excluded.time, size = excluded.size,
	cost = excluded.cost, realized = excluded.realized, mark = excluded.mark, liq_price = excluded.liq_price`

// sqliteMaxVars bounds the parameters of one statement (SQLite's
// SQLITE_MAX_VARIABLE_NUMBER is 32766 since 3.32). Multi-row inserts cut
// the per-statement cost, which dominates in the pure-Go driver.
const sqliteMaxVars = 32000

func sqliteInsert(ctx context.Context, tx *sql.Tx, name string, cols []string, rows [][]any, suffix string) error {
	per := max(1, sqliteMaxVars/len(cols))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	head := "INSERT INTO " + name + " (" + strings.Join(cols, ", ") + ") VALUES "
	var stmt *sql.Stmt
	stmtRows := 0
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	args := make([]any, 0, min(len(rows), per)*len(cols))
	for len(rows) > 0 {
		n := min(len(rows), per)
		if n != stmtRows {
			if stmt != nil {
				stmt.Close()
			}
			var err error
			stmt, err = tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")+suffix)
			if err != nil {
				return err
			}
			stmtRows = n
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("projector: insert into %s (seq %v-%v): %w", name, rows[0][0], rows[n-1][0], err)
		}
		rows = rows[n:]
	}
	return nil
}

// Store implements Sink.
func (s *SQLite) Store() *Store { return s.store }

// Close implements Sink.
func (s *SQLite) Close() error { return s.db.Close() }
