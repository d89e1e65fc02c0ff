package projector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sampan-hk/sampan/core/engine"
)

// Postgres is the read store for a cluster: the projector writes each flush
// with COPY FROM (one COPY per table) inside one transaction.
type Postgres struct {
	pool  *pgxpool.Pool
	store *Store
}

// OpenPostgres connects to dsn (a libpq URL or key=value string), creates
// the schema if needed and returns the sink.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("projector: postgres DSN: %w", err)
	}
	if cfg.MaxConns > 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("projector: connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("projector: connect postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	if err := migrateEvents(ctx, db, postgresEventsTable, func(s string) string { return s }); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("projector: postgres: %w", err)
	}
	for _, stmt := range schema {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			db.Close()
			pool.Close()
			return nil, fmt.Errorf("projector: postgres schema: %w", err)
		}
	}
	if err := addOrderText(ctx, db, postgresOrderText); err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	return &Postgres{pool: pool, store: &Store{db: db, dollar: true}}, nil
}

// LastSeq implements Sink.
func (s *Postgres) LastSeq(ctx context.Context) (uint64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT last_seq FROM projector_state WHERE id = 1`).Scan(&v)
	return uint64(v), err
}

// Write implements Sink.
func (s *Postgres) Write(ctx context.Context, prev uint64, rows *Rows) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	tag, err := tx.Exec(ctx, `UPDATE projector_state SET last_seq = $1, last_time = $2, updated_at = $3 WHERE id = 1 AND last_seq = $4`,
		int64(rows.Last), rows.Time, time.Now().UnixNano(), int64(prev))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return ErrStateMoved
	}
	for _, t := range rows.tables() {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("projector: copy into %s (seq %d-%d): %w", t.name, rows.First, rows.Last, err)
		}
	}
	if latest := rows.LatestRows(); len(latest) > 0 {
		var b pgx.Batch
		sql := "INSERT INTO positions_latest (" + strings.Join(latestCols, ", ") + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)" + upsertLatest
		for _, r := range latest {
			b.Queue(sql, r...)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("projector: upsert positions_latest: %w", err)
		}
	}
	return tx.Commit(ctx)
}

// Store implements Sink.
func (s *Postgres) Store() *Store { return s.store }

// Close implements Sink.
func (s *Postgres) Close() error {
	err := s.store.db.Close()
	s.pool.Close()
	return err
}

// Open opens the PostgreSQL store when dsn is set, else the SQLite file at
// path: the choice `sampan serve` makes from its configuration.
func Open(ctx context.Context, dsn, path string) (Sink, error) {
	if dsn != "" {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, path)
}

// NodeConfig is what `sampan serve` needs to run a projector on a node.
type NodeConfig struct {
	DSN        string        // PostgreSQL DSN; "" selects SQLite at Path
	Path       string        // SQLite file (default store)
	JournalDir string        // the node's journal data directory, for catch-up and backfill
	Engine     engine.Config // the engine configuration the node runs with
	Projector  Config        // flush limits etc.; Backfill is set from JournalDir
}

// OpenForNode opens the read store and catches it up from the journal. Call
// it before journal.Open (the journal is locked while the node runs), then
// Start the projector on the Machine, also before journal.Open.
func OpenForNode(ctx context.Context, c NodeConfig) (*Projector, error) {
	sink, err := Open(ctx, c.DSN, c.Path)
	if err != nil {
		return nil, err
	}
	cfg := c.Projector
	cfg.Backfill = JournalBackfill{Dir: c.JournalDir, Config: c.Engine}
	p, err := New(ctx, sink, cfg)
	if err != nil {
		sink.Close()
		return nil, err
	}
	if err := p.CatchUp(ctx); err != nil {
		sink.Close()
		return nil, err
	}
	return p, nil
}
