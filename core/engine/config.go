package engine

import (
	"errors"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/core/liquidation"
	"github.com/sampan-hk/sampan/core/oracle"
	"github.com/sampan-hk/sampan/core/risk"
)

// MarketKind says what a market trades.
type MarketKind uint8

const (
	// Perpetual is a USD-margined linear perpetual contract (the zero
	// value, so configs written before spot markets existed keep meaning
	// what they meant).
	Perpetual MarketKind = iota
	// Spot exchanges the Base asset for the Quote asset between clients'
	// margin-financing accounts (spot.go): no positions, margin, funding,
	// mark, liquidation or ADL.
	Spot
)

func (k MarketKind) String() string {
	if k == Spot {
		return "spot"
	}
	return "perpetual"
}

// MarketSpec is one market. Every number is data, never a constant in
// code: a later governance issue versions and changes them.
type MarketSpec struct {
	Symbol string
	Kind   MarketKind
	// Base and Quote name the lending assets a spot market exchanges
	// ("BTC", "USD"); perpetuals leave them empty. A spot market's
	// Spec.BaseDecimals and QuoteDecimals must equal the assets' decimals.
	Base, Quote     string
	Spec            fixed.Spec
	Brackets        risk.Brackets
	MakerFee        fixed.Ppm // charged on maker notional (negative: rebate)
	TakerFee        fixed.Ppm
	BandPpm         fixed.Ppm // orders must lie within mark × (1 ± band)
	DefaultLeverage int64     // a new client's leverage setting
	// MaxLeverage caps the leverage a client may select (governed
	// max_leverage). Zero: the first bracket's.
	MaxLeverage int64
	Limits      book.Limits
	// Underlying names the index the market is valued on ("BTC"). Markets
	// on one underlying share its index, so they must share a tick (quotes
	// are in ticks). Empty: the symbol, i.e. an index of its own.
	Underlying string
	// ImpactNotional is the notional (quote minor units) whose average fill
	// price on each side of the book is the impact bid/ask of the funding
	// premium. Zero: DefaultImpactNotional.
	ImpactNotional fixed.Amount
	// Liquidation holds the fee, the per-call caps and the fillable-price
	// shape (liquidation.Params). Zero: liquidation.DefaultParams.
	Liquidation liquidation.Params
}

// DefaultImpactNotional is 10,000 USD.
const DefaultImpactNotional = fixed.Amount(10_000 * 1_000_000)

// Config is everything engine.New needs.
type Config struct {
	Markets    []MarketSpec
	MaxClients int // named limit: clients the engine accepts
	IdemMax    int // named limit: idempotency keys remembered (FIFO window)

	// Valuation rules, shared by every market (docs/methodology.md). A zero
	// value means the package default, so configs written before valuation
	// existed keep working.
	Oracle  oracle.Params     // index: staleness, deviation, minimum sources
	Sources []oracle.Source   // constituents of every index (venue ids are the quote's Source)
	Mark    oracle.MarkParams // basis window and clamp band
	Funding funding.Params    // interval, sampling, interest, clamp, cap

	// Governance: operators, review rules, eligibility thresholds and extra
	// genesis parameter sets (governance.go). Zero values are defaults.
	Governance GovernanceConfig

	// Financing: the margin-financing book (financing.go). Disabled by
	// default; spot markets need it.
	Financing FinancingConfig
}

// Named limits that are not per-market.
const (
	// RefMax bounds a client's external reference string, in bytes.
	RefMax = 64
	// MarketsMax bounds the number of markets (a market id is a uint16, but
	// per-client state is a dense array sized by the market count).
	MarketsMax = 64
	// LeverageMax bounds any leverage setting regardless of brackets.
	LeverageMax = 125
)

// Config errors.
var (
	ErrConfigMarkets = errors.New("engine: need 1..MarketsMax markets with unique symbols")
	ErrConfigFees    = errors.New("engine: taker fee must be ≥ 0 and a maker rebate must not exceed the taker fee")
	ErrConfigBand    = errors.New("engine: price band must be in (0, 100%)")
	ErrConfigLev     = errors.New("engine: default leverage must be in 1..first tier max leverage")
	ErrConfigLimits  = errors.New("engine: MaxClients and IdemMax must be positive")
	ErrConfigOracle  = errors.New("engine: invalid oracle, mark or funding parameters, or sources")
	ErrConfigUnder   = errors.New("engine: markets on one underlying must share a tick; impact notional must be ≥ 0")
	ErrConfigSpot    = errors.New("engine: a spot market needs financing enabled, Base and Quote assets and zero fees")
)

// Validate checks the config and validates each market's fixed.Spec in
// place (Spec.Validate precomputes its conversion factors).
func (c *Config) Validate() error {
	if len(c.Markets) == 0 || len(c.Markets) > MarketsMax {
		return ErrConfigMarkets
	}
	if c.MaxClients <= 0 || c.IdemMax <= 0 || c.MaxClients >= 1<<31 {
		return ErrConfigLimits
	}
	if c.Oracle == (oracle.Params{}) {
		c.Oracle = oracle.DefaultParams()
	}
	if c.Sources == nil {
		c.Sources = oracle.DefaultSources()
	}
	if c.Mark == (oracle.MarkParams{}) {
		c.Mark = oracle.DefaultMarkParams()
	}
	if c.Funding == (funding.Params{}) {
		c.Funding = funding.DefaultParams()
	}
	if _, err := oracle.NewIndex(c.Oracle, c.Sources); err != nil {
		return ErrConfigOracle
	}
	if c.Mark.Validate() != nil || c.Funding.Validate() != nil {
		return ErrConfigOracle
	}
	c.Governance.defaults()
	if err := c.Financing.defaults(); err != nil {
		return err
	}
	for i := range c.Markets {
		m := &c.Markets[i]
		for j := 0; j < i; j++ {
			if c.Markets[j].Symbol == m.Symbol {
				return ErrConfigMarkets
			}
		}
		if m.Symbol == "" || len(m.Symbol) > RefMax {
			return ErrConfigMarkets
		}
		if err := m.Spec.Validate(); err != nil {
			return errors.New("engine: market " + m.Symbol + ": " + err.Error())
		}
		if m.Kind == Spot {
			if err := c.validateSpot(m); err != nil {
				return err
			}
			continue
		}
		if m.Kind != Perpetual {
			return ErrConfigMarkets
		}
		if err := m.Brackets.Validate(); err != nil {
			return errors.New("engine: market " + m.Symbol + ": " + err.Error())
		}
		if m.TakerFee < 0 || m.TakerFee >= fixed.PpmOne || m.MakerFee >= fixed.PpmOne || -m.MakerFee > m.TakerFee {
			return ErrConfigFees
		}
		if m.BandPpm <= 0 || m.BandPpm >= fixed.PpmOne {
			return ErrConfigBand
		}
		if m.MaxLeverage == 0 {
			m.MaxLeverage = m.Brackets[0].MaxLeverage
		}
		if m.MaxLeverage < 1 || m.MaxLeverage > m.Brackets[0].MaxLeverage || m.DefaultLeverage < 1 || m.DefaultLeverage > m.MaxLeverage || m.DefaultLeverage > LeverageMax {
			return ErrConfigLev
		}
		if m.Underlying == "" {
			m.Underlying = m.Symbol
		}
		if m.ImpactNotional == 0 {
			m.ImpactNotional = DefaultImpactNotional
		}
		if m.ImpactNotional < 0 || len(m.Underlying) > RefMax {
			return ErrConfigUnder
		}
		if m.Liquidation == (liquidation.Params{}) {
			m.Liquidation = liquidation.DefaultParams()
		}
		if m.Liquidation.Validate() != nil {
			return errors.New("engine: market " + m.Symbol + ": " + liquidation.ErrParams.Error())
		}
		for j := 0; j < i; j++ {
			if o := &c.Markets[j]; o.Underlying == m.Underlying && o.Spec.Tick != m.Spec.Tick {
				return ErrConfigUnder
			}
		}
	}
	return nil
}

// validateSpot checks a spot market: it trades lending assets between
// financing accounts, so it needs the financing book, carries no fees (not
// built for spot yet) and no perpetual parameters. Leverage is fixed at 1
// so the per-client line (always empty for spot) stays in range.
func (c *Config) validateSpot(m *MarketSpec) error {
	if !c.Financing.Enabled || m.Base == "" || m.Quote == "" || m.Base == m.Quote || m.MakerFee != 0 || m.TakerFee != 0 {
		return ErrConfigSpot
	}
	if m.BandPpm <= 0 || m.BandPpm >= fixed.PpmOne {
		return ErrConfigBand
	}
	m.Brackets, m.MaxLeverage, m.DefaultLeverage = nil, 1, 1
	if m.Underlying == "" {
		m.Underlying = m.Base
	}
	if m.ImpactNotional == 0 {
		m.ImpactNotional = DefaultImpactNotional
	}
	if m.Liquidation == (liquidation.Params{}) {
		m.Liquidation = liquidation.DefaultParams()
	}
	for j := range c.Markets {
		if o := &c.Markets[j]; o != m && o.Underlying == m.Underlying && o.Spec.Tick != m.Spec.Tick {
			return ErrConfigUnder
		}
	}
	return nil
}

// dollars is whole dollars in micro-USD.
func dollars(v int64) fixed.Amount { return fixed.Amount(v * 1_000_000) }

// btcBrackets follow Binance's BTCUSDT notional tiers and MM rates, with
// maximum leverage capped at 10× as the design asks for BTC and ETH.
// Maintenance amounts are derived so MM is continuous at every cap.
func btcBrackets() risk.Brackets {
	return risk.Brackets{
		{Cap: dollars(50_000), MaxLeverage: 10, MMR: 4_000},
		{Cap: dollars(250_000), MaxLeverage: 10, MMR: 5_000},
		{Cap: dollars(3_000_000), MaxLeverage: 10, MMR: 10_000},
		{Cap: dollars(15_000_000), MaxLeverage: 10, MMR: 25_000},
		{Cap: dollars(30_000_000), MaxLeverage: 10, MMR: 50_000},
		{Cap: dollars(80_000_000), MaxLeverage: 5, MMR: 100_000},
		{Cap: dollars(100_000_000), MaxLeverage: 4, MMR: 125_000},
		{Cap: dollars(200_000_000), MaxLeverage: 3, MMR: 150_000},
		{Cap: dollars(300_000_000), MaxLeverage: 2, MMR: 250_000},
		{Cap: dollars(500_000_000), MaxLeverage: 1, MMR: 500_000},
	}.WithContinuousAmounts()
}

func ethBrackets() risk.Brackets {
	return risk.Brackets{
		{Cap: dollars(50_000), MaxLeverage: 10, MMR: 5_000},
		{Cap: dollars(250_000), MaxLeverage: 10, MMR: 6_500},
		{Cap: dollars(1_000_000), MaxLeverage: 10, MMR: 10_000},
		{Cap: dollars(10_000_000), MaxLeverage: 10, MMR: 25_000},
		{Cap: dollars(20_000_000), MaxLeverage: 10, MMR: 50_000},
		{Cap: dollars(50_000_000), MaxLeverage: 5, MMR: 100_000},
		{Cap: dollars(100_000_000), MaxLeverage: 4, MMR: 125_000},
		{Cap: dollars(200_000_000), MaxLeverage: 2, MMR: 250_000},
		{Cap: dollars(300_000_000), MaxLeverage: 1, MMR: 500_000},
	}.WithContinuousAmounts()
}

// DefaultConfig is BTC-USD-PERP (tick 0.1, lot 0.001) and ETH-USD-PERP
// (tick 0.01, lot 0.01), settled in USD with 6 decimals, maker 2 bp, taker
// 5 bp, a 5% band around mark and 10× default leverage.
func DefaultConfig() Config {
	return Config{
		Markets: []MarketSpec{
			{
				Symbol: "BTC-USD-PERP",
				Spec: fixed.Spec{Tick: fixed.Step{Units: 1, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3}, Multiplier: 1,
					QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 10_000_000, MaxQty: 1_000_000}, // 1,000,000.0 USD; 1,000 BTC
				Brackets: btcBrackets(), MakerFee: 200, TakerFee: 500, BandPpm: 50_000, DefaultLeverage: 10,
				Limits: book.DefaultLimits, Underlying: "BTC", ImpactNotional: DefaultImpactNotional,
				Liquidation: liquidation.DefaultParams(),
			},
			{
				Symbol: "ETH-USD-PERP",
				Spec: fixed.Spec{Tick: fixed.Step{Units: 1, Scale: 2}, Lot: fixed.Step{Units: 1, Scale: 2}, Multiplier: 1,
					QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 10_000_000, MaxQty: 1_000_000}, // 100,000.00 USD; 10,000 ETH
				Brackets: ethBrackets(), MakerFee: 200, TakerFee: 500, BandPpm: 50_000, DefaultLeverage: 10,
				Limits: book.DefaultLimits, Underlying: "ETH", ImpactNotional: DefaultImpactNotional,
				Liquidation: liquidation.DefaultParams(),
			},
		},
		MaxClients: 1 << 20,
		IdemMax:    1 << 16,
	}
}

// SpotMarkets are BTC-USD and ETH-USD spot, on the same ticks and lots as
// the perpetuals (so they share the BTC and ETH indexes), settled between
// margin-financing accounts, with no fees.
func SpotMarkets() []MarketSpec {
	d := DefaultConfig().Markets
	spot := func(perp MarketSpec, sym, base string) MarketSpec {
		return MarketSpec{Symbol: sym, Kind: Spot, Base: base, Quote: "USD", Spec: perp.Spec, BandPpm: perp.BandPpm,
			Limits: perp.Limits, Underlying: perp.Underlying}
	}
	return []MarketSpec{spot(d[0], "BTC-USD", "BTC"), spot(d[1], "ETH-USD", "ETH")}
}

// WithFinancing returns cfg with the margin-financing book enabled (default
// assets, collateral table, interest terms and firm set) and the spot
// markets appended after its markets, so existing market ids keep their
// numbers. DefaultConfig stays perpetual-only until every reader of
// Markets() distinguishes the kinds (docs/margin-financing.md §11).
func WithFinancing(cfg Config) Config {
	cfg.Markets = append(append([]MarketSpec(nil), cfg.Markets...), SpotMarkets()...)
	cfg.Financing = DefaultFinancing()
	return cfg
}
