package projector

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/sampan-hk/sampan/core/engine"
)

// rawCase opens one kind of store and returns the error, so a test can see
// a refused open; every call reopens the same store.
type rawCase struct {
	name string
	open func() (Sink, error)
	db   func() (*sql.DB, error) // the database itself, no schema work
}

// mustOpen opens the store (schema and migrations included) or fails t.
func (c rawCase) mustOpen(t *testing.T) Sink {
	t.Helper()
	sink, err := c.open()
	if err != nil {
		t.Fatal(err)
	}
	return sink
}

func rawSinks(t *testing.T) []rawCase {
	path := filepath.Join(t.TempDir(), "read.db")
	cases := []rawCase{{"sqlite", func() (Sink, error) { return OpenSQLite(context.Background(), path) },
		func() (*sql.DB, error) { return sql.Open("sqlite", path) }}}
	if dsn := pgDSN(t); dsn != "" {
		cases = append(cases, rawCase{"postgres", func() (Sink, error) { return OpenPostgres(context.Background(), dsn) },
			func() (*sql.DB, error) { return sql.Open("pgx", dsn) }})
	}
	return cases
}

// physical counts the stored rows behind the events view: events_other's,
// and the own-table kinds' rows left in it (must be none).
func physical(t *testing.T, s *Store) (rows, ownInOther int64) {
	t.Helper()
	var own []any
	q := `SELECT COUNT(*) FROM events_other WHERE kind_code IN (`
	for k := 0; k < 256; k++ {
		if ownTable(engine.EventKind(k)) {
			if len(own) > 0 {
				q += ", "
			}
			q += "?"
			own = append(own, int64(k))
		}
	}
	if err := s.db.QueryRow(s.rebind(q+")"), own...).Scan(&ownInOther); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT (SELECT COUNT(*) FROM events_other) + (SELECT COUNT(*) FROM orders) +
		(SELECT COUNT(*) FROM trades) + (SELECT COUNT(*) FROM positions)`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return rows, ownInOther
}

// Every event is stored once: orders, trades and positions have no
// events_other row, the stored rows number exactly the events, and the
// events view shows every event with every column as the engine emitted
// it (eventRow, mapped from the event itself).
func TestEventsStoredOnce(t *testing.T) {
	all, _, _, _ := reference(t, genLog(41, 1500), 0)
	want := eventRows(all)
	x := expect(all)
	for _, k := range []string{"order_accepted", "order_cancelled", "trade", "position"} {
		if x.byKind[k] == 0 {
			t.Fatalf("no %s events in the stream: %v", k, x.byKind)
		}
	}
	for _, sc := range rawSinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			sink := sc.mustOpen(t)
			defer sink.Close()
			writeAll(t, sink, all)
			n, own := physical(t, sink.Store())
			if n != int64(len(all)) || own != 0 {
				t.Fatalf("%d stored rows for %d events, %d own-table events in events_other", n, len(all), own)
			}
			sameRows(t, sqlEvents(t, sink.Store()), want)
		})
	}
}

// writeAll writes the events in flushes of 1000.
func writeAll(t *testing.T, sink Sink, all []engine.Event) {
	t.Helper()
	prev := uint64(0)
	for i := 0; i < len(all); i += 1000 {
		rows := newRows()
		for j := i; j < min(i+1000, len(all)); j++ {
			rows.add(&all[j])
		}
		if err := sink.Write(context.Background(), prev, rows); err != nil {
			t.Fatal(err)
		}
		prev = rows.Last
	}
}

// oldLayout turns a store back into the layout from before the events view:
// one events table holding every event.
func oldLayout(t *testing.T, s *Store) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE events_full AS SELECT * FROM events`,
		`DROP VIEW events`,
		`DROP TABLE events_other`,
		`ALTER TABLE events_full RENAME TO events`,
	} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A store from before the events view is migrated on open: the same
// events, now stored once. One whose own tables miss a row the events
// table has is refused with ErrMigrate (saying how to rebuild) and left
// as it was.
func TestMigrateEventsTable(t *testing.T) {
	all, _, _, _ := reference(t, genLog(43, 800), 0)
	want := eventRows(all)
	for _, sc := range rawSinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			sink := sc.mustOpen(t)
			writeAll(t, sink, all)
			oldLayout(t, sink.Store())
			sink.Close()
			sink = sc.mustOpen(t)
			n, own := physical(t, sink.Store())
			if n != int64(len(all)) || own != 0 {
				t.Fatalf("migrated: %d stored rows for %d events, %d own-table events in events_other", n, len(all), own)
			}
			sameRows(t, sqlEvents(t, sink.Store()), want)
			sum, err := sink.Store().Summarize(context.Background())
			if err != nil || !sum.Contiguous() || sum.LastSeq != uint64(len(all)) {
				t.Fatalf("migrated summary %+v, %v", sum, err)
			}

			// An old store missing an order row cannot be migrated.
			oldLayout(t, sink.Store())
			if _, err := sink.Store().db.Exec(`DELETE FROM orders WHERE seq = (SELECT MIN(seq) FROM orders)`); err != nil {
				t.Fatal(err)
			}
			sink.Close()
			if s, err := sc.open(); !errors.Is(err, ErrMigrate) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("open of an inconsistent old store: %v", err)
			}
			// Left as it was: events is still the table of every event.
			db, err := sc.db()
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var left, other int
			if err := db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&left); err != nil || left != len(all) {
				t.Fatalf("refused store: events holds %d rows (%v), want %d", left, err, len(all))
			}
			if err := db.QueryRow(`SELECT COUNT(*) FROM events_other`).Scan(&other); err == nil {
				t.Fatal("refused store has an events_other table")
			}
		})
	}
}

// orderIndexes lists the orders table's own indexes by name (not the
// primary key's).
func orderIndexes(t *testing.T, s *Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name`
	if s.dollar {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'orders'
			AND indexname <> 'orders_pkey' ORDER BY indexname`
	}
	rows, err := s.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// A store created with the (client, order_id) index on orders gets the
// (order_id, client) index on open and loses the old one, then takes the
// next rows and answers the history queries like a new store.
func TestMigrateOrderIndex(t *testing.T) {
	all, _, _, _ := reference(t, genLog(45, 1500), 0)
	half := len(all) / 2
	first, rest := splitRows(all, half)
	want := []string{"orders_client_accepted", "orders_order_client"}
	for _, sc := range rawSinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			sink := sc.mustOpen(t)
			if got := orderIndexes(t, sink.Store()); !slices.Equal(got, want) {
				t.Fatalf("new store: orders indexes %v, want %v", got, want)
			}
			if err := sink.Write(ctx, 0, first); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{`DROP INDEX orders_order_client`, `CREATE INDEX orders_client_order ON orders (client, order_id)`} {
				if _, err := sink.Store().db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			sink.Close()
			sink = sc.mustOpen(t)
			defer sink.Close()
			if got := orderIndexes(t, sink.Store()); !slices.Equal(got, want) {
				t.Fatalf("reopened old store: orders indexes %v, want %v", got, want)
			}
			if err := sink.Write(ctx, uint64(half), rest); err != nil {
				t.Fatal(err)
			}
			sameRows(t, sqlEvents(t, sink.Store()), eventRows(all))
			fills := 0
			for c := engine.ClientID(1); c <= 6; c++ {
				checkOrderPages(t, sink.Store(), all, c, Page{Limit: 7})
				fills += checkFillPages(t, sink.Store(), all, c, Page{Limit: 7})
			}
			if fills == 0 {
				t.Fatal("no fills checked: stream too thin")
			}
		})
	}
}

// A store from before the log carried client order id texts gains the
// orders column on open: its rows keep no text (NULL reads as ""), the
// rows written after carry theirs.
func TestAddOrderText(t *testing.T) {
	all, _, _, _ := reference(t, genLog(45, 1500), 0)
	half := len(all) / 2
	first, rest := splitRows(all, half)
	for _, sc := range rawSinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			sink := sc.mustOpen(t)
			if err := sink.Write(ctx, 0, first); err != nil {
				t.Fatal(err)
			}
			if _, err := sink.Store().db.Exec(`ALTER TABLE orders DROP COLUMN client_order_text`); err != nil {
				t.Fatal(err)
			}
			sink.Close()
			sink = sc.mustOpen(t)
			defer sink.Close()
			if err := sink.Write(ctx, uint64(half), rest); err != nil {
				t.Fatal(err)
			}
			old, named := 0, 0
			for c := engine.ClientID(1); c <= 30; c++ {
				rows, err := sink.Store().Orders(ctx, c, 0, Range{Limit: MaxQueryRows})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range rows {
					ev := all[o.Seq-1]
					want := ev.Ref
					if o.Seq <= uint64(half) {
						want = ""
						if ev.Ref != "" {
							old++
						}
					} else if want != "" {
						named++
					}
					if o.Text != want {
						t.Fatalf("seq %d: text %q, want %q", o.Seq, o.Text, want)
					}
				}
			}
			if old == 0 || named == 0 {
				t.Fatalf("%d named orders before the migration, %d after: stream too thin", old, named)
			}
		})
	}
}
