package projector

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/engine"
)

// ErrMigrate refuses a store whose events table cannot be moved to the
// events view without losing an event. Rebuild it from the journal:
// stop the node, move the store aside (SQLite: DATA/read.db and its -wal
// and -shm files; PostgreSQL: drop the schema's tables) and start it; the
// projector's CatchUp re-projects the journal from seq 1.
var ErrMigrate = fmt.Errorf("projector: cannot migrate the events table; rebuild the read store from the journal " +
	"(stop the node, move DATA/read.db* aside or drop the PostgreSQL tables, start it again)")

// Probes say whether events is still a table (a store from before the
// events view).
const (
	sqliteEventsTable   = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'`
	postgresEventsTable = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()
		AND table_name = 'events' AND table_type = 'BASE TABLE'`
)

// migrateEvents moves a store created when every event had an events row
// to the current layout, in one transaction: the table becomes events_other
// (keeping its layout and key), the rows of the kinds with their own table
// (ownTable) leave it, and the events view must then show exactly as many
// events as the table held, else nothing changes and the store is refused
// with ErrMigrate. Those rows are redundant: the projector wrote each with
// its own-table row in the same transaction. A store already migrated, or
// new, is left alone.
func migrateEvents(ctx context.Context, db *sql.DB, probe string, ddl func(string) string) error {
	var n int
	if err := db.QueryRowContext(ctx, probe).Scan(&n); err != nil || n == 0 {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var before, after int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&before); err != nil {
		return err
	}
	var codes []string
	for k := engine.EventKind(0); k < 255; k++ {
		if ownTable(k) {
			codes = append(codes, strconv.Itoa(int(k)))
		}
	}
	for _, stmt := range []string{
		`ALTER TABLE events RENAME TO events_other`,
		`DELETE FROM events_other WHERE kind_code IN (` + strings.Join(codes, ", ") + `)`,
		ddl(eventsView()),
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("projector: migrate events: %w", err)
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&after); err != nil {
		return err
	}
	if after != before {
		return fmt.Errorf("%w: %d events before, %d after", ErrMigrate, before, after)
	}
	return tx.Commit()
}

// Probes say whether the orders table has its client_order_text column.
const (
	sqliteOrderText   = `SELECT COUNT(*) FROM pragma_table_info('orders') WHERE name = 'client_order_text'`
	postgresOrderText = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema()
		AND table_name = 'orders' AND column_name = 'client_order_text'`
)

// addOrderText gives a store created before the log carried client order
// id texts the orders column that holds them. Its older rows keep NULL:
// their texts were never in the log. A store that has it is left alone.
func addOrderText(ctx context.Context, db *sql.DB, probe string) error {
	var n int
	if err := db.QueryRowContext(ctx, probe).Scan(&n); err != nil || n > 0 {
		return err
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE orders ADD COLUMN client_order_text TEXT`); err != nil {
		return fmt.Errorf("projector: add orders.client_order_text: %w", err)
	}
	return nil
}
