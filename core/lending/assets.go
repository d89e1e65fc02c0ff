package lending

import (
	"github.com/sampan-hk/sampan/core/fixed"
)

// AssetID is a dense index into the registry, in registration order. The
// base currency is 0.
type AssetID uint16

// MaxAssets bounds the registry.
const MaxAssets = 4096

// AssetKind classifies an asset.
type AssetKind uint8

// Asset kinds.
const (
	Cash         AssetKind = iota + 1 // a currency: HKD, USD
	VirtualAsset                      // BTC, ETH, SOL, ...
	Security                          // e.g. an HK equity by stock code, "0700.HK"
)

func (k AssetKind) String() string {
	switch k {
	case Cash:
		return "cash"
	case VirtualAsset:
		return "virtual_asset"
	case Security:
		return "security"
	}
	return "kind?"
}

// Asset is one registry entry.
type Asset struct {
	Code     string
	Kind     AssetKind
	Decimals int          // minor units per whole unit = 10^Decimals
	Quote    AssetID      // currency its price is quoted in (base for cash)
	Lot      fixed.Amount // smallest sellable quantity in minor units (a board lot; 1 if none)
}

// Collateral is one row of the eligible-collateral table.
type Collateral struct {
	Eligible      bool
	Haircut       fixed.Ppm // lending value = market value × (1 − haircut)
	Concentration fixed.Ppm // max share of a client's lending value this asset may supply
}

// InterestTerms are the per-currency loan terms.
type InterestTerms struct {
	AnnualRate fixed.Ppm // simple annual rate on the debit balance
	DayBasis   int64     // 365 (actual/365, HKD) or 360 (actual/360)
}

type price struct {
	Value int64 // quote minor units per whole unit
	At    int64 // engine time it was set
	Set   bool
}

func validCode(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (b *Book) addAsset(a Asset) AssetID {
	id := AssetID(len(b.assets))
	b.assets = append(b.assets, a)
	b.byCode[a.Code] = id
	// A new asset starts ineligible with a 100% haircut: nothing is
	// collateral until the table says so.
	b.coll = append(b.coll, Collateral{Haircut: fixed.PpmOne, Concentration: fixed.PpmOne})
	b.prices = append(b.prices, price{})
	b.terms = append(b.terms, InterestTerms{DayBasis: 365})
	return id
}

// Lookup returns the id of an asset code.
func (b *Book) Lookup(code string) (AssetID, bool) {
	id, ok := b.byCode[code]
	return id, ok
}

// Asset returns a registry entry.
func (b *Book) Asset(id AssetID) Asset { return b.assets[id] }

// Assets returns the number of registered assets.
func (b *Book) Assets() int { return len(b.assets) }

func (b *Book) known(id AssetID) bool { return int(id) < len(b.assets) }

// RegisterAsset adds an asset. quote is the code of the cash asset its price
// is quoted in; a cash asset must be quoted in the base currency (its FX
// rate), so every valuation needs at most one conversion.
func (b *Book) RegisterAsset(now int64, code string, kind AssetKind, decimals int, quote string, lot fixed.Amount) (AssetID, Outcome) {
	b.clock(now)
	if !validCode(code) || kind < Cash || kind > Security || decimals < 0 || decimals > 18 || lot <= 0 || lot > MaxAmount {
		return 0, reject(ReasonBadAsset)
	}
	if _, dup := b.byCode[code]; dup {
		return 0, reject(ReasonDuplicateAsset)
	}
	if len(b.assets) >= MaxAssets {
		return 0, reject(ReasonBadAsset)
	}
	q, ok := b.byCode[quote]
	if !ok {
		return 0, reject(ReasonUnknownAsset)
	}
	if b.assets[q].Kind != Cash || (kind == Cash && q != BaseAsset) {
		return 0, reject(ReasonBadAsset)
	}
	id := b.addAsset(Asset{Code: code, Kind: kind, Decimals: decimals, Quote: q, Lot: lot})
	var out Outcome
	b.emit(&out, Event{Kind: EvAssetRegistered, Time: now, Asset: id, Currency: q})
	return id, out
}

// Collateral returns an asset's collateral row.
func (b *Book) Collateral(id AssetID) Collateral { return b.coll[id] }

// SetCollateral sets an asset's row of the eligible-collateral table. Rules
// enforced on every set: the asset must exist; a virtual asset other than
// BTC or ETH cannot be made eligible; an eligible virtual asset's haircut is
// never below MinVAHaircut (60%); haircut and concentration are within
// [0, 100%] (concentration > 0). All open calls are re-evaluated.
func (b *Book) SetCollateral(now int64, id AssetID, c Collateral) Outcome {
	b.clock(now)
	if !b.known(id) {
		return reject(ReasonUnknownAsset)
	}
	a := b.assets[id]
	if c.Haircut < 0 || c.Haircut > fixed.PpmOne {
		return reject(ReasonBadHaircut)
	}
	if c.Concentration <= 0 || c.Concentration > fixed.PpmOne {
		return reject(ReasonBadConcentration)
	}
	if a.Kind == VirtualAsset {
		if c.Eligible && !isEligibleVACode(a.Code) {
			return reject(ReasonVANotEligible)
		}
		// The floor holds even for an ineligible row so that a later flip
		// of Eligible alone can never expose a sub-floor haircut.
		if c.Haircut < MinVAHaircut {
			return reject(ReasonHaircutBelowFloor)
		}
	}
	b.coll[id] = c
	var out Outcome
	b.emit(&out, Event{Kind: EvCollateralSet, Time: now, Asset: id, Ppm: c.Haircut})
	b.evaluateAll(&out, now)
	return out
}

// SetPrice sets an asset's price in its quote currency's minor units per
// whole unit: the index for BTC/ETH, the securities price for a security,
// the FX rate (base minor units per unit) for a currency. Collateral is
// never valued at Sampan's own book: the engine passes the index here.
func (b *Book) SetPrice(now int64, id AssetID, value int64) Outcome {
	b.clock(now)
	if !b.known(id) {
		return reject(ReasonUnknownAsset)
	}
	if id == BaseAsset {
		return reject(ReasonBaseCurrency)
	}
	if value <= 0 || value > MaxPrice {
		return reject(ReasonBadPrice)
	}
	b.prices[id] = price{Value: value, At: now, Set: true}
	var out Outcome
	b.emit(&out, Event{Kind: EvPriceSet, Time: now, Asset: id, Amount: fixed.Amount(value)})
	b.evaluateAll(&out, now)
	return out
}

// Price returns an asset's price and whether one was set.
func (b *Book) Price(id AssetID) (int64, bool) {
	p := b.prices[id]
	return p.Value, p.Set
}

// SetInterestTerms sets a currency's annual rate and day-count basis
// (365: actual/365, the HKD convention; 360: actual/360, common for USD).
func (b *Book) SetInterestTerms(now int64, ccy AssetID, t InterestTerms) Outcome {
	b.clock(now)
	if !b.known(ccy) {
		return reject(ReasonUnknownAsset)
	}
	if b.assets[ccy].Kind != Cash {
		return reject(ReasonNotCash)
	}
	if t.AnnualRate < 0 || t.AnnualRate > fixed.PpmOne || (t.DayBasis != 365 && t.DayBasis != 360) {
		return reject(ReasonBadParams)
	}
	b.terms[ccy] = t
	var out Outcome
	b.emit(&out, Event{Kind: EvInterestTermsSet, Time: now, Asset: ccy, Ppm: t.AnnualRate})
	return out
}

// value converts qty minor units of an asset to base minor units at price
// px (quote minor units per whole unit), rounding r at each of the two
// steps: asset → quote, then quote → base.
func (b *Book) value(id AssetID, qty fixed.Amount, px int64, r fixed.Rounding) fixed.Amount {
	if qty == 0 {
		return 0
	}
	a := &b.assets[id]
	v := fixed.MustMulDiv(int64(qty), px, fixed.Pow10(a.Decimals), r)
	if id == BaseAsset || a.Quote == BaseAsset {
		return fixed.Amount(v)
	}
	q := &b.assets[a.Quote]
	return fixed.Amount(fixed.MustMulDiv(v, b.prices[a.Quote].Value, fixed.Pow10(q.Decimals), r))
}

// priced reports whether an asset (and its quote currency) has a price.
func (b *Book) priced(id AssetID) bool {
	return b.prices[id].Set && b.prices[b.assets[id].Quote].Set
}

// fresh reports whether an asset's price (and its quote's FX) is recent
// enough to lend against.
func (b *Book) fresh(id AssetID, now int64) bool {
	if b.params.PriceMaxAge == 0 {
		return true
	}
	for _, x := range [2]AssetID{id, b.assets[id].Quote} {
		if x != BaseAsset && now-b.prices[x].At > b.params.PriceMaxAge {
			return false
		}
	}
	return true
}

// counts reports whether an asset counts as collateral at all. The VA
// whitelist is rechecked here, independently of SetCollateral, so no other
// virtual asset can ever add lending value.
func (b *Book) counts(id AssetID) bool {
	a := &b.assets[id]
	if !b.coll[id].Eligible {
		return false
	}
	if a.Kind == VirtualAsset && !isEligibleVACode(a.Code) {
		panic("lending: ineligible virtual asset marked eligible")
	}
	return true
}
