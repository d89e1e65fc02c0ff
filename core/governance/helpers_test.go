package governance

import (
	"bytes"
	"testing"
)

const (
	t0  int64 = 1_767_225_600_000_000_000 // 2026-01-01T00:00:00Z
	sec int64 = 1_000_000_000
)

func catalog() *Catalog { return NewCatalog(MarketSchema, CollateralSchema, FirmSchema) }

// brackets builds a bracket table with continuous maintenance amounts from
// rows of (cap, max leverage, MM rate).
func brackets(rows ...[3]int64) Table {
	t := Table{Name: "brackets", Columns: []string{"cap", "max_leverage", "mmr_ppm", "maint_amount"}}
	var amt int64
	for i, r := range rows {
		if i > 0 {
			p := rows[i-1]
			amt += p[0] * (r[2] - p[2]) / 1_000_000
		}
		t.Rows = append(t.Rows, []int64{r[0], r[1], r[2], amt})
	}
	return t
}

var defaultBrackets = [][3]int64{{1_000_000_000_000, 10, 5_000}, {5_000_000_000_000, 5, 10_000}, {20_000_000_000_000, 2, 25_000}}

// market returns a valid market value, with fields overridden.
func market(over map[string]int64, rows ...[3]int64) Value {
	f := map[string]int64{
		"tick_size": 100, "lot_size": 1000, "max_leverage": 10, "maker_fee_ppm": 200, "taker_fee_ppm": 500,
		"price_band_ppm": 50_000, "funding_interval_s": 3600, "funding_cap_ppm": 3_750, "liq_step_cap_ppm": 250_000,
		"liq_fee_ppm": 15_000, "oi_cap_lots": 1_000_000,
	}
	for k, v := range over {
		f[k] = v
	}
	var fs []Field
	for k, v := range f {
		fs = append(fs, Field{k, v}) // NewValue sorts: map order does not matter
	}
	if len(rows) == 0 {
		rows = defaultBrackets
	}
	v, r := NewValue(fs, []Table{brackets(rows...)})
	if r != ReasonNone {
		panic(r.String())
	}
	return v
}

func collateral(eligible, haircut, conc int64) Value {
	v, r := NewValue([]Field{{"eligible", eligible}, {"haircut_ppm", haircut}, {"concentration_ppm", conc}}, nil)
	if r != ReasonNone {
		panic(r.String())
	}
	return v
}

const btc = "market:BTC-USD-PERP"

// newStore: a store at t0 with one operator of each role (two risk
// officers and two compliance officers, so maker-checker is possible) and
// BTC market and collateral parameters from genesis.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, _ := New(DefaultConfig, catalog(), Genesis{
		Time: t0,
		Operators: []Operator{
			{ID: "admin", Role: RoleAdmin}, {ID: "risk1", Role: RoleRiskOfficer}, {ID: "risk2", Role: RoleRiskOfficer},
			{ID: "comp1", Role: RoleComplianceOfficer}, {ID: "comp2", Role: RoleComplianceOfficer},
			{ID: "ops1", Role: RoleOperations}, {ID: "aud1", Role: RoleAuditor},
		},
		Sets: []GenesisSet{{btc, market(nil)}, {"collateral:BTC", collateral(1, 600_000, 500_000)}},
	})
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	return s
}

func encodeAll(evs []Event) []byte {
	var b []byte
	for i := range evs {
		b = evs[i].Encode(b)
	}
	return b
}

func sameEvents(a, b []Event) bool { return bytes.Equal(encodeAll(a), encodeAll(b)) }

func kinds(evs []Event) []EventKind {
	var out []EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func mustOK(t *testing.T, r Reason) {
	t.Helper()
	if r != ReasonNone {
		t.Fatalf("unexpected rejection %s", r)
	}
}
