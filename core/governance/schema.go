package governance

import (
	"slices"
	"strings"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Direction says which way a field or column moves when a change makes the
// exchange safer. It decides what an emergency change may do alone.
type Direction uint8

const (
	// Neutral: no direction is safer (tick size, fees, funding interval).
	// Any change to it needs maker-checker.
	Neutral Direction = iota
	// HigherStricter: raising it tightens (MM rate, haircut, PI threshold).
	HigherStricter
	// LowerStricter: lowering it tightens (max leverage, price band, caps).
	LowerStricter
	// Derived: determined by the other columns and checked by the
	// schema's rule (a bracket's maintenance amount, which keeps MM
	// continuous). It is ignored when classifying a change: see Compare.
	Derived
)

var dirNames = [...]string{"neutral", "higher_is_stricter", "lower_is_stricter", "derived"}

func (d Direction) String() string {
	if int(d) < len(dirNames) {
		return dirNames[d]
	}
	return "unknown"
}

// Spec defines one field or table column: its direction and inclusive
// bounds.
type Spec struct {
	Name     string
	Dir      Direction
	Min, Max int64
}

// TableSpec defines a table: its columns in order and how many rows it may
// have.
type TableSpec struct {
	Name             string
	Columns          []Spec
	MinRows, MaxRows int
}

// Schema defines one kind of parameter set. Every field and table it lists
// is required, nothing else is allowed.
type Schema struct {
	Kind      string // "market", "collateral", "firm", "eligibility", ...
	Singleton bool   // the set id is the bare kind ("firm"), else "kind:NAME"
	Domain    Domain // who proposes and approves (see the permission matrix)
	Fields    []Spec
	Tables    []TableSpec
	// Rule checks what bounds cannot express (cross-field consistency,
	// per-set floors). It returns false to refuse a value. It must be a
	// pure function of its arguments.
	Rule func(setID string, v Value) bool
}

// Validate checks a canonical value against the schema.
func (s *Schema) Validate(setID string, v Value) Reason {
	if len(v.Fields) > len(s.Fields) || len(v.Tables) > len(s.Tables) {
		return RejectUnknownField
	}
	for _, f := range v.Fields {
		if s.field(f.Name) == nil {
			return RejectUnknownField
		}
	}
	for _, t := range v.Tables {
		if s.table(t.Name) == nil {
			return RejectUnknownField
		}
	}
	for _, sp := range s.Fields {
		x, ok := v.Get(sp.Name)
		if !ok {
			return RejectMissingField
		}
		if x < sp.Min || x > sp.Max {
			return RejectFieldOutOfRange
		}
	}
	for i := range s.Tables {
		ts := &s.Tables[i]
		t, ok := v.Table(ts.Name)
		if !ok {
			return RejectMissingField
		}
		if len(t.Columns) != len(ts.Columns) {
			return RejectInvalidValue
		}
		for j, c := range ts.Columns {
			if t.Columns[j] != c.Name {
				return RejectInvalidValue
			}
		}
		if len(t.Rows) < ts.MinRows || len(t.Rows) > ts.MaxRows {
			return RejectFieldOutOfRange
		}
		for _, r := range t.Rows {
			for j, c := range ts.Columns {
				if r[j] < c.Min || r[j] > c.Max {
					return RejectFieldOutOfRange
				}
			}
		}
	}
	if s.Rule != nil && !s.Rule(setID, v) {
		return RejectValueRuleViolated
	}
	return ReasonNone
}

func (s *Schema) field(name string) *Spec {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

func (s *Schema) table(name string) *TableSpec {
	for i := range s.Tables {
		if s.Tables[i].Name == name {
			return &s.Tables[i]
		}
	}
	return nil
}

// Change classifies a new value against the active one.
type Change uint8

const (
	Unchanged Change = iota
	// Tighter: at least one field or cell moved in its stricter direction
	// and nothing moved any other way.
	Tighter
	// NotTighter: something loosened, or a Neutral field changed, or a
	// table's shape changed. It needs maker-checker.
	NotTighter
)

var changeNames = [...]string{"unchanged", "tighter", "not_tighter"}

func (c Change) String() string {
	if int(c) < len(changeNames) {
		return changeNames[c]
	}
	return "unknown"
}

// Compare classifies the change from old to next (both valid for s) and, when
// it is not a tightening, names the first field or table that prevents it.
//
// Tables are compared cell by cell and only when they keep the same number
// of rows (adding or removing a tier is never an emergency change). For
// margin brackets this is sound: with caps no higher and rates no lower in
// every tier, the MM rate at every notional is no lower, so MM — the
// integral of that rate, which is what the derived maintenance amounts
// encode — is no lower at any notional, and likewise IM.
func (s *Schema) Compare(old, next Value) (Change, string) {
	stricter := false
	for _, sp := range s.Fields {
		o, _ := old.Get(sp.Name)
		n, _ := next.Get(sp.Name)
		switch moved(sp.Dir, o, n) {
		case Tighter:
			stricter = true
		case NotTighter:
			return NotTighter, sp.Name
		}
	}
	for i := range s.Tables {
		ts := &s.Tables[i]
		ot, _ := old.Table(ts.Name)
		nt, _ := next.Table(ts.Name)
		if len(ot.Rows) != len(nt.Rows) {
			return NotTighter, ts.Name
		}
		for r := range ot.Rows {
			for c, sp := range ts.Columns {
				switch moved(sp.Dir, ot.Rows[r][c], nt.Rows[r][c]) {
				case Tighter:
					stricter = true
				case NotTighter:
					return NotTighter, ts.Name + "." + sp.Name
				}
			}
		}
	}
	if stricter {
		return Tighter, ""
	}
	if old.Equal(next) {
		return Unchanged, ""
	}
	// Only derived cells moved: by themselves they cannot make anything
	// stricter.
	return NotTighter, ""
}

func moved(d Direction, o, n int64) Change {
	switch {
	case o == n || d == Derived:
		return Unchanged
	case d == HigherStricter && n > o, d == LowerStricter && n < o:
		return Tighter
	}
	return NotTighter
}

// Catalog is the set of schemas a store accepts, sorted by kind.
type Catalog struct {
	schemas []*Schema
}

// NewCatalog checks and indexes schemas. A malformed schema is a
// programming error and panics.
func NewCatalog(schemas ...Schema) *Catalog {
	c := &Catalog{}
	for i := range schemas {
		s := schemas[i]
		if !validName(s.Kind) || s.Domain == DomainNone || s.Domain >= domainEnd {
			panic("governance: bad schema " + s.Kind)
		}
		var names []string
		for _, f := range s.Fields {
			names = append(names, f.Name)
			if !validName(f.Name) || f.Min > f.Max || f.Dir == Derived {
				panic("governance: bad field " + s.Kind + "." + f.Name)
			}
		}
		for _, t := range s.Tables {
			names = append(names, t.Name)
			if !validName(t.Name) || len(t.Columns) == 0 || len(t.Columns) > MaxColumns || t.MinRows < 0 || t.MaxRows > MaxRows || t.MinRows > t.MaxRows {
				panic("governance: bad table " + s.Kind + "." + t.Name)
			}
		}
		if len(s.Fields) > MaxFields || len(s.Tables) > MaxTables || hasDup(names) {
			panic("governance: bad schema " + s.Kind)
		}
		c.schemas = append(c.schemas, &s)
	}
	slices.SortFunc(c.schemas, func(a, b *Schema) int { return strings.Compare(a.Kind, b.Kind) })
	for i := 1; i < len(c.schemas); i++ {
		if c.schemas[i-1].Kind == c.schemas[i].Kind {
			panic("governance: duplicate schema " + c.schemas[i].Kind)
		}
	}
	return c
}

func hasDup(names []string) bool {
	s := slices.Clone(names)
	slices.Sort(s)
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return true
		}
	}
	return false
}

// Schema returns the schema for a kind.
func (c *Catalog) Schema(kind string) *Schema {
	i, ok := slices.BinarySearchFunc(c.schemas, kind, func(s *Schema, k string) int { return strings.Compare(s.Kind, k) })
	if !ok {
		return nil
	}
	return c.schemas[i]
}

// Kinds lists the catalog's kinds in order.
func (c *Catalog) Kinds() []string {
	out := make([]string, len(c.schemas))
	for i, s := range c.schemas {
		out[i] = s.Kind
	}
	return out
}

// MaxSetNameLen bounds the NAME in "kind:NAME".
const MaxSetNameLen = 32

// ParseSetID splits a set id into its schema, or returns why not. A keyed
// kind takes "kind:NAME" with NAME of [A-Z0-9-]; a singleton takes the bare
// kind. One spelling per set, so ids compare as plain strings.
func (c *Catalog) ParseSetID(id string) (*Schema, Reason) {
	kind, name, keyed := strings.Cut(id, ":")
	if !validName(kind) {
		return nil, RejectInvalidSetID
	}
	s := c.Schema(kind)
	if s == nil {
		return nil, RejectUnknownSetKind
	}
	if s.Singleton != !keyed {
		return nil, RejectInvalidSetID
	}
	if keyed {
		if len(name) == 0 || len(name) > MaxSetNameLen {
			return nil, RejectInvalidSetID
		}
		for i := 0; i < len(name); i++ {
			ch := name[i]
			if !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return nil, RejectInvalidSetID
			}
		}
	}
	return s, ReasonNone
}

// Default schemas. Units are in the names' documentation below; every
// number is an integer (ppm rates, whole leverage, minor units of money).

// MarketSchema: one perpetual or spot market ("market:BTC-USD-PERP").
//
//	tick_size, lot_size       price and size steps in the instrument's base units (neutral)
//	max_leverage              whole multiple a client may select (lower is stricter)
//	maker_fee_ppm, taker_fee_ppm  fees; a maker fee may be a rebate (neutral)
//	price_band_ppm            order price band around the mark (lower is stricter)
//	funding_interval_s        seconds between settlements (neutral)
//	funding_cap_ppm           |funding rate| cap per interval (neutral)
//	liq_step_cap_ppm          share of a position one liquidation step may close (neutral)
//	liq_fee_ppm               liquidation fee to the insurance fund, ≤ 1.5% (neutral)
//	oi_cap_lots               open-interest cap per side (lower is stricter)
//	brackets                  cap (money), max_leverage, mmr_ppm, maint_amount (derived)
var MarketSchema = Schema{
	Kind:   "market",
	Domain: DomainRisk,
	Fields: []Spec{
		{"tick_size", Neutral, 1, 1 << 40},
		{"lot_size", Neutral, 1, 1 << 40},
		{"max_leverage", LowerStricter, 1, 125},
		{"maker_fee_ppm", Neutral, -10_000, 10_000},
		{"taker_fee_ppm", Neutral, 0, 10_000},
		{"price_band_ppm", LowerStricter, 1, 500_000},
		{"funding_interval_s", Neutral, 60, 86_400},
		{"funding_cap_ppm", Neutral, 0, 100_000},
		{"liq_step_cap_ppm", Neutral, 1, 1_000_000},
		{"liq_fee_ppm", Neutral, 0, 15_000},
		{"oi_cap_lots", LowerStricter, 0, 1 << 50},
	},
	Tables: []TableSpec{{
		Name: "brackets",
		Columns: []Spec{
			{"cap", LowerStricter, 1, 1 << 60},
			{"max_leverage", LowerStricter, 1, 125},
			{"mmr_ppm", HigherStricter, 0, 999_999},
			{"maint_amount", Derived, 0, 1 << 60},
		},
		MinRows: 1, MaxRows: 16,
	}},
	Rule: marketRule,
}

// marketRule: caps increase, MM rates do not decrease, leverage does not
// increase, IM rate (1/leverage) ≥ MM rate in every tier, maintenance
// amounts keep MM continuous (amount[i] = amount[i−1] + cap[i−1] × Δrate,
// rounded down, as core/risk builds them), and the selectable leverage is
// within the first tier's.
func marketRule(_ string, v Value) bool {
	t, _ := v.Table("brackets")
	lev, _ := v.Get("max_leverage")
	const cCap, cLev, cMMR, cAmt = 0, 1, 2, 3
	for i, r := range t.Rows {
		if int64(fixed.PpmOne)/r[cLev] < r[cMMR] {
			return false
		}
		if i == 0 {
			if r[cAmt] != 0 || lev > r[cLev] {
				return false
			}
			continue
		}
		p := t.Rows[i-1]
		if r[cCap] <= p[cCap] || r[cMMR] < p[cMMR] || r[cLev] > p[cLev] {
			return false
		}
		step, err := fixed.MulDiv(p[cCap], r[cMMR]-p[cMMR], int64(fixed.PpmOne), fixed.Floor)
		if err != nil {
			return false
		}
		if want, err := fixed.Add(p[cAmt], step); err != nil || r[cAmt] != want {
			return false
		}
	}
	return true
}

// VAHaircutFloor is the haircut BTC and ETH may never go below as margin
// collateral (regulation R3): no parameter change can override it.
const VAHaircutFloor = 600_000

// CollateralSchema: one collateral asset ("collateral:BTC").
//
//	eligible            1 accepted, 0 not (lower is stricter)
//	haircut_ppm         share of market value not lent against (higher is stricter)
//	concentration_ppm   max share of a client's margin value in this asset (lower is stricter)
var CollateralSchema = Schema{
	Kind:   "collateral",
	Domain: DomainRisk,
	Fields: []Spec{
		{"eligible", LowerStricter, 0, 1},
		{"haircut_ppm", HigherStricter, 0, 1_000_000},
		{"concentration_ppm", LowerStricter, 0, 1_000_000},
	},
	Rule: func(id string, v Value) bool {
		if id == "collateral:BTC" || id == "collateral:ETH" {
			h, _ := v.Get("haircut_ppm")
			return h >= VAHaircutFloor
		}
		return true
	},
}

// FirmSchema: the firm's capital and aggregate limits ("firm").
//
//	capital_hkd_cents               shareholders' funds as last reported (neutral: a fact, not a limit)
//	max_loans_to_capital_ppm        total margin loans ÷ capital, 5× = 5_000_000 (lower is stricter)
//	client_concentration_ppm        loans to one client group ÷ capital (lower is stricter)
//	collateral_concentration_ppm    one collateral instrument ÷ total loans (lower is stricter)
var FirmSchema = Schema{
	Kind:      "firm",
	Singleton: true,
	Domain:    DomainRisk,
	Fields: []Spec{
		{"capital_hkd_cents", Neutral, 0, 1 << 60},
		{"max_loans_to_capital_ppm", LowerStricter, 0, 5_000_000},
		{"client_concentration_ppm", LowerStricter, 0, 1_000_000},
		{"collateral_concentration_ppm", LowerStricter, 0, 1_000_000},
	},
}
