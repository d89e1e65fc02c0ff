package engine

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/lending"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// goldenCommands is one command of every kind with every field it carries
// set to a distinctive value, so a change in any layout shows up as a diff.
var goldenCommands = []struct {
	name string
	cmd  Command
}{
	{"create_client", Command{Kind: CmdCreateClient, Key: 0x0102030405060708, Ref: "acme-fund"}},
	{"deposit", Command{Kind: CmdDeposit, Client: 7, Key: 9, Amount: 10_000 * usd}},
	{"withdraw", Command{Kind: CmdWithdraw, Client: 7, Key: 10, Amount: 1}},
	{"transfer", Command{Kind: CmdTransfer, Client: 7, Key: 11, From: Derivatives, To: Financing, Amount: 2_500_000}},
	{"set_classification", Command{Kind: CmdSetClassification, Client: 7, Key: 12, Class: CorporatePI, Expiry: 1_767_225_600_000_000_000}},
	{"set_knowledge", Command{Kind: CmdSetKnowledge, Client: 7, Key: 13, Flag: true}},
	{"set_leverage", Command{Kind: CmdSetLeverage, Client: 7, Market: 1, Leverage: 5}},
	{"set_mark", Command{Kind: CmdSetMark, Market: 0, Price: 650_001}},
	{"place_order", Command{Kind: CmdPlaceOrder, Client: 7, Market: 0, Key: 99, Side: book.Sell, Type: book.Limit, TIF: book.IOC,
		STP: book.STPExpireBoth, Flags: FlagReduceOnly, Price: 650_000, Qty: 1_500}},
	{"place_market", Command{Kind: CmdPlaceOrder, Client: 7, Market: 1, Key: 100, Side: book.Buy, Type: book.Market, Qty: 3}},
	{"cancel_order", Command{Kind: CmdCancelOrder, Client: 7, Market: 0, Order: 0x1234_5678_9abc}},
	{"cancel_by_key", Command{Kind: CmdCancelOrder, Client: 7, Market: 0, OrigKey: 99}},
	{"cancel_all", Command{Kind: CmdCancelAll, Client: 7, Market: AllMarkets}},
	{"amend_order", Command{Kind: CmdAmendOrder, Client: 7, Market: 1, Key: 101, Order: 77, Price: 299_950, Qty: 250}},
	{"quote", Command{Kind: CmdQuote, Market: 0, Source: 3, Price: 650_100, Observed: 1_763_625_598_000_000_000}},
	{"tick", Command{Kind: CmdTick}},
	{"fund_insurance", Command{Kind: CmdFundInsurance, Key: 14, Amount: 250_000 * usd}},
	{"add_operator", Command{Kind: CmdAddOperator, Gov: &GovArgs{Operator: "ada", Target: "rita", Role: governance.RoleRiskOfficer}}},
	{"disable_operator", Command{Kind: CmdDisableOperator, Gov: &GovArgs{Operator: "ada", Target: "rob"}}},
	{"propose_parameters", Command{Kind: CmdProposeParams, Gov: &GovArgs{Operator: "rita", Set: "market:BTC-USD-PERP", Value: goldenValue(), At: 1_767_229_200_000_000_000, Note: "raise taker fee"}}},
	{"approve_proposal", Command{Kind: CmdApproveProposal, Gov: &GovArgs{Operator: "rob", ID: 3}}},
	{"reject_proposal", Command{Kind: CmdRejectProposal, Gov: &GovArgs{Operator: "rob", ID: 4, Note: "too early"}}},
	{"withdraw_proposal", Command{Kind: CmdWithdrawProposal, Gov: &GovArgs{Operator: "rita", ID: 5}}},
	{"emergency_tighten", Command{Kind: CmdEmergencyTighten, Gov: &GovArgs{Operator: "rita", Set: "market:BTC-USD-PERP", Value: goldenValue(), Note: "flash crash"}}},
	{"review_emergency", Command{Kind: CmdReviewEmergency, Gov: &GovArgs{Operator: "rob", Set: "market:BTC-USD-PERP", ID: 2, Note: "agreed"}}},
	{"classify_client", Command{Kind: CmdClassifyClient, Client: 7, Gov: &GovArgs{Operator: "cora", PIClass: eligibility.CorporatePI, Evidence: eligibility.AuditedFinancials, At: 1_767_225_600_000_000_000, Portfolio: 1, TotalAssets: 4_000_000_000, Note: "AF-2025"}}},
	{"record_knowledge", Command{Kind: CmdRecordKnowledge, Client: 7, Gov: &GovArgs{Operator: "cora", Basis: eligibility.PriorTrades, Trades: 12, Note: "confirmations"}}},
	{"publish_disclosure", Command{Kind: CmdPublishDisclosure, Gov: &GovArgs{Operator: "cora", ID: 2, Digest: [32]byte{0xde, 0xad, 0xbe, 0xef}}}},
	{"accept_disclosure", Command{Kind: CmdAcceptDisclosure, Client: 7, Gov: &GovArgs{ID: 2}}},
	{"financing_deposit", Command{Kind: CmdFinDeposit, Client: 7, Key: 15, Ref: "0700.HK", Amount: 200}},
	{"financing_withdraw", Command{Kind: CmdFinWithdraw, Client: 7, Key: 16, Ref: "USD", Amount: 1_000 * usd}},
	{"repay_loan", Command{Kind: CmdRepayLoan, Client: 7, Key: 17, Ref: "USD", Amount: 500 * usd}},
	{"set_asset_price", Command{Kind: CmdSetAssetPrice, Ref: "0700.HK", Amount: 500_000_000}},
	{"credit_assessment", Command{Kind: CmdCreditAssessment, Client: 7, Flag: true, Gov: &GovArgs{Operator: "rita", Grade: "A",
		CreditLimit: 2_000_000_000_000, NetAssets: 50_000_000_000_000, Income: 5_000_000_000_000, Experience: 10,
		Review: 1_798_761_600_000_000_000, Note: "CA-2026-7"}}},
	{"register_asset", Command{Kind: CmdRegisterAsset, Gov: &GovArgs{Operator: "rita", Asset: "0388.HK", AssetKind: uint8(lending.Security),
		Decimals: 0, Quote: "HKD", Lot: 100}}},
	{"book_security_sale", Command{Kind: CmdBookSecuritySale, Client: 7, Key: 18, Ref: "0700.HK", Qty: 100, Amount: 28_500_000_000}},
	// Version 2: the governance-side kinds with an idempotency key.
	{"propose_parameters_keyed", Command{Kind: CmdProposeParams, Key: 0x1122334455667788, Gov: &GovArgs{Operator: "rita", Set: "market:BTC-USD-PERP", Value: goldenValue(), At: 1_767_229_200_000_000_000, Note: "raise taker fee"}}},
	{"approve_proposal_keyed", Command{Kind: CmdApproveProposal, Key: 19, Gov: &GovArgs{Operator: "rob", ID: 3}}},
	{"accept_disclosure_keyed", Command{Kind: CmdAcceptDisclosure, Client: 7, Key: 20, Gov: &GovArgs{ID: 2}}},
	{"register_asset_keyed", Command{Kind: CmdRegisterAsset, Key: 21, Gov: &GovArgs{Operator: "rita", Asset: "0388.HK", AssetKind: uint8(lending.Security),
		Decimals: 0, Quote: "HKD", Lot: 100}}},
	// Version 2: a place with its client order id text.
	{"place_order_named", Command{Kind: CmdPlaceOrder, Client: 7, Market: 0, Key: 0x8877665544332211, Side: book.Buy, Type: book.Limit,
		TIF: book.GTC, STP: book.STPExpireTaker, Flags: FlagPostOnly, Price: 649_900, Qty: 2_000, Ref: "grid-7:bid.01_A"}},
}

// goldenValue is a small canonical parameter value.
func goldenValue() string {
	v, r := governance.NewValue([]governance.Field{{Name: "taker_fee_ppm", V: 600}, {Name: "maker_fee_ppm", V: -100}},
		[]governance.Table{{Name: "brackets", Columns: []string{"cap", "mmr_ppm"}, Rows: [][]int64{{50, 4000}, {250, 5000}}}})
	if r != governance.ReasonNone {
		panic(r)
	}
	return EncodeValue(v)
}

var goldenEvents = []struct {
	name string
	ev   Event
}{
	{"client_created", Event{Seq: 1, Time: 1000, Kind: EvClientCreated, Client: 7}},
	{"deposited", Event{Seq: 2, Time: 1000, Kind: EvDeposited, Client: 7, Amount: 10_000 * usd, Balance: 10_000 * usd}},
	{"withdrawn", Event{Seq: 3, Time: 1001, Kind: EvWithdrawn, Client: 7, Amount: 1, Balance: 10_000*usd - 1}},
	{"transferred", Event{Seq: 4, Time: 1001, Kind: EvTransferred, Client: 7, From: Derivatives, To: Financing, Amount: 5, Balance: 9}},
	{"classification_set", Event{Seq: 5, Time: 1002, Kind: EvClassificationSet, Client: 7, Class: InstitutionalPI, Expiry: 99}},
	{"knowledge_set", Event{Seq: 6, Time: 1002, Kind: EvKnowledgeSet, Client: 7, Flag: true}},
	{"leverage_set", Event{Seq: 7, Time: 1002, Kind: EvLeverageSet, Client: 7, Market: 1, Leverage: 3}},
	{"mark_set", Event{Seq: 8, Time: 1003, Kind: EvMarkSet, Market: 0, Price: 650_001}},
	{"order_accepted", Event{Seq: 9, Time: 1004, Kind: EvOrderAccepted, Client: 7, Market: 0, Order: 1 << 20, ClientOrderID: 99,
		Side: book.Sell, Flags: FlagPostOnly, Price: 650_000, Qty: 1_500, Remaining: 1_500}},
	{"order_accepted_named", Event{Seq: 9, Time: 1004, Kind: EvOrderAccepted, Client: 7, Market: 0, Order: 1 << 20, ClientOrderID: 99,
		Side: book.Sell, Flags: FlagPostOnly, Price: 650_000, Qty: 1_500, Remaining: 1_500, Ref: "my-order-1"}},
	{"trade", Event{Seq: 10, Time: 1004, Kind: EvTrade, Client: 8, Market: 0, Side: book.Buy, Order: 2<<20 | 2, ClientOrderID: 5,
		Price: 650_000, Qty: 500, Remaining: 0, MakerClient: 7, MakerOrder: 1 << 20, MakerClientOrderID: 99, MakerRemaining: 1_000,
		TakerFee: 16_250_000, MakerFee: 6_500_000, TakerRealized: -1, MakerRealized: 2}},
	{"order_cancelled", Event{Seq: 11, Time: 1005, Kind: EvOrderCancelled, Client: 7, Market: 0, Order: 1 << 20, ClientOrderID: 99,
		Code: CodeCancelledByOwner, Side: book.Sell, Price: 650_000, Qty: 1_000}},
	{"order_expired", Event{Seq: 12, Time: 1005, Kind: EvOrderExpired, Client: 8, Market: 1, Order: 3 << 20, Code: FromBook(book.ExpireIOC),
		Side: book.Buy, Price: 1, Qty: 2}},
	{"order_amended", Event{Seq: 13, Time: 1006, Kind: EvOrderAmended, Client: 7, Market: 1, Order: 4 << 20, ClientOrderID: 1,
		Side: book.Buy, Price: 299_950, Qty: 250, Remaining: 250}},
	{"book_level", Event{Seq: 14, Time: 1006, Kind: EvBookLevel, Market: 1, Side: book.Buy, Price: 299_950, Qty: 250}},
	{"position", Event{Seq: 15, Time: 1006, Kind: EvPosition, Client: 7, Market: 0, Size: -500, Cost: -32_500 * usd,
		Realized: 12, Price: 650_001, LiqPrice: 700_000}},
	{"index", Event{Seq: 16, Time: 1007, Kind: EvIndex, Market: 0, Price: 650_100, Flag: true, Detail: &Valuation{At: 1007,
		Reference: 650_100, Median: 650_100, Wanted: 660_000, Fresh: 4, Included: 3, Healthy: true, Bounded: true}}},
	{"index_source", Event{Seq: 17, Time: 1007, Kind: EvIndexSource, Market: 0, Price: 685_000, Detail: &Valuation{At: 1000,
		Source: 5, Age: 7, Weight: 1, WeightUsed: 0, Deviation: 53_685, Excluded: 3}}},
	{"mark", Event{Seq: 18, Time: 1007, Kind: EvMark, Market: 0, Price: 650_136, Detail: &Valuation{At: 1007, Index: 650_100,
		Rate: 100_000, TimeToFunding: 1_800_000_000_000, Mid: 650_155, HasMid: true, Last: 650_200, HasLast: true, FundingPrice: 650_104,
		BasisAverage: 36, BasisSamples: 4, SampleAdded: true, BasisPrice: 650_136, LastPrice: 650_200, MarkMedian: 650_136,
		BandLow: 643_599, BandHigh: 656_601}}},
	{"funding_sample", Event{Seq: 19, Time: 1008, Kind: EvFundingSample, Market: 0, Detail: &Valuation{At: 1008, Index: 650_100,
		ImpactBid: 650_282, HasBid: true, ImpactAsk: 650_435, HasAsk: true, Rate: 279_956}}},
	{"funding_rate", Event{Seq: 20, Time: 1009, Kind: EvFundingRate, Market: 0, Price: 650_136, Detail: &Valuation{At: 1009,
		Interval: 3_600_000_000_000, Rate: 300_000, Samples: 60, PremiumSum: 48_000_000, AvgPremium: 800_000, Interest: 100_000,
		Adjustment: -500_000, Uncapped: 300_000, Cap: 37_500_000, Paid: 7_315, Received: 7_314, Residue: 1}}},
	{"funding_payment", Event{Seq: 21, Time: 1009, Kind: EvFundingPayment, Client: 7, Market: 0, Size: 3, Amount: -7_315,
		Balance: 99_992_685, Price: 650_136, Detail: &Valuation{At: 1009, Rate: 300_000, Notional: 195_040_800}}},
	{"market_mode", Event{Seq: 22, Time: 1010, Kind: EvMarketMode, Market: 1, Flag: true, Detail: &Valuation{At: 1010, Fresh: 1, Included: 0}}},
	{"liquidation_started", Event{Seq: 23, Time: 1011, Kind: EvLiquidationStarted, Client: 7, Market: 0, Price: 401_857,
		Equity: 160_700_000, Margin: 160_742_800, Balance: 9_975 * usd}},
	{"liquidation_order", Event{Seq: 24, Time: 1011, Kind: EvLiquidationOrder, Client: 7, Market: 0, Side: book.Sell, Price: 401_857,
		Qty: 100, Remaining: 10, LiqPrice: 400_250, Cost: 3_616_713_000, Amount: 14_463_000, Balance: 1_014_463_000,
		Equity: 130_000_000, Margin: 144_000_000}},
	{"insurance_takeover", Event{Seq: 25, Time: 1011, Kind: EvInsuranceTakeover, Client: 7, Market: 0, Side: book.Buy, Price: 400_250,
		Qty: 10, Amount: -1_607_000, Realized: -997_500_000, Balance: 1_014_463_000}},
	{"insurance_fund", Event{Seq: 26, Time: 1011, Kind: EvInsuranceFund, Client: 7, Flags: FundFee, Amount: 14_463_000, Balance: 1_014_463_000}},
	{"deleveraged", Event{Seq: 27, Time: 1012, Kind: EvDeleveraged, Client: 8, MakerClient: 7, Market: 0, Side: book.Buy, Price: 400_250,
		Qty: 600, TakerRealized: 5_985 * usd, MakerRealized: -5_985 * usd, Amount: 331_683, Quantile: 5}},
	{"adl_quantile", Event{Seq: 29, Time: 1013, Kind: EvAdlQuantile, Client: 8, Market: 0, Side: book.Sell, Size: -600, Quantile: 4,
		Amount: 331_683}},
	{"liquidation_finished", Event{Seq: 28, Time: 1012, Kind: EvLiquidationFinished, Client: 7, Flag: true, Equity: 221_977_800,
		Margin: 199_868_012, Balance: 5_804_975_000}},
	{"governance", Event{Seq: 30, Time: 1014, Kind: EvGovernance, Flags: uint8(governance.EvApproved), Market: 0,
		Gov: &GovDetail{Audit: []byte{1, 5, 0, 0, 0, 0, 0, 0, 0, 9}}}},
	{"eligibility", Event{Seq: 31, Time: 1015, Kind: EvEligibility, Flags: uint8(eligibility.EvDisclosureAccepted), Client: 7,
		Gov: &GovDetail{Audit: []byte{1, 6, 0, 0, 0, 0, 0, 0, 0, 7}}}},
	{"financing", Event{Seq: 32, Time: 1016, Kind: EvFinancing, Flags: uint8(lending.EvCloseOutStarted), Client: 7,
		Fin: &lending.Event{Seq: 9, Time: 1016, Kind: lending.EvCloseOutStarted, Client: 7, Debit: 109_200_000_000,
			Lending: 77_966_000_000, Short: 31_234_000_000, Deadline: 86_400_000_001_016, Trigger: lending.TriggerHard}}},
	{"close_out_order", Event{Seq: 33, Time: 1017, Kind: EvCloseOutOrder, Client: 7, Market: 3, Flags: uint8(lending.StepFinancedVA),
		Price: 190_000, Qty: 100, Remaining: 40, Amount: 1_140_000_000}},
	{"security_sale_instruction", Event{Seq: 34, Time: 1018, Kind: EvSecuritySale, Client: 7, Flags: uint8(lending.StepSecurity),
		Fin: &lending.Event{Time: 1018, Client: 7, Asset: 4, Qty: 100, Amount: 285_000_000, Short: 7_500_000_000, Step: lending.StepSecurity}}},
}

// sameEvent compares events including their detail's content.
func sameEvent(a, b *Event) bool {
	x, y := *a, *b
	x.Detail, y.Detail = nil, nil
	x.Gov, y.Gov = nil, nil
	x.Fin, y.Fin = nil, nil
	if (a.Fin == nil) != (b.Fin == nil) || (a.Fin != nil && *a.Fin != *b.Fin) {
		return false
	}
	if x != y || (a.Detail == nil) != (b.Detail == nil) || (a.Gov == nil) != (b.Gov == nil) {
		return false
	}
	if a.Gov != nil && !bytes.Equal(a.Gov.Audit, b.Gov.Audit) {
		return false
	}
	return a.Detail == nil || *a.Detail == *b.Detail
}

// readGolden reads "name hex" lines.
func readGolden(t *testing.T, path string) map[string][]byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, h, ok := strings.Cut(line, " ")
		b, err := hex.DecodeString(strings.TrimSpace(h))
		if !ok || err != nil {
			t.Fatalf("bad golden line %q", line)
		}
		out[name] = b
	}
	return out
}

func writeGolden(t *testing.T, path, header string, names []string, recs [][]byte) {
	var buf bytes.Buffer
	buf.WriteString(header)
	for i, n := range names {
		fmt.Fprintf(&buf, "%s %x\n", n, recs[i])
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The journal format is frozen: each command encodes to exactly the bytes
// in testdata/commands.golden and decodes back to itself.
func TestCommandGoldenVectors(t *testing.T) {
	const path = "testdata/commands.golden"
	var names []string
	var recs [][]byte
	for _, g := range goldenCommands {
		b, err := AppendCommand(nil, &g.cmd)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		names, recs = append(names, g.name), append(recs, b)
	}
	if *update {
		writeGolden(t, path, "# Command records, versions 1 and 2 (version 1 + the kind's version 2 field: the key of a governance-side kind, a place's client order id text): kind, version, fields little-endian. Do not edit; a layout change is a new version.\n", names, recs)
	}
	want := readGolden(t, path)
	for i, g := range goldenCommands {
		if !bytes.Equal(recs[i], want[g.name]) {
			t.Errorf("%s: encoded %x, golden %x", g.name, recs[i], want[g.name])
		}
		back, err := DecodeCommand(want[g.name])
		if err != nil || !sameCommand(&back, &g.cmd) {
			t.Errorf("%s: decoded %+v, %v", g.name, back, err)
		}
	}
	if len(want) != len(goldenCommands) {
		t.Errorf("golden file has %d records, test has %d", len(want), len(goldenCommands))
	}
}

func TestEventGoldenVectors(t *testing.T) {
	const path = "testdata/events.golden"
	var names []string
	var recs [][]byte
	for _, g := range goldenEvents {
		b, err := AppendEvent(nil, &g.ev)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		names, recs = append(names, g.name), append(recs, b)
	}
	if *update {
		writeGolden(t, path, "# Event records: kind, version, seq, time, fields little-endian; version 2 (a named place's accepted order) adds its text. Do not edit; a layout change is a new version.\n", names, recs)
	}
	want := readGolden(t, path)
	for i, g := range goldenEvents {
		if !bytes.Equal(recs[i], want[g.name]) {
			t.Errorf("%s: encoded %x, golden %x", g.name, recs[i], want[g.name])
		}
		back, err := DecodeEvent(want[g.name])
		if err != nil || !sameEvent(&back, &g.ev) {
			t.Errorf("%s: decoded %+v, %v", g.name, back, err)
		}
	}
	if len(want) != len(goldenEvents) {
		t.Errorf("golden file has %d records, test has %d", len(want), len(goldenEvents))
	}
}

// Malformed records are rejected with a specific error, never a panic.
func TestDecodeRejects(t *testing.T) {
	place, _ := AppendCommand(nil, &goldenCommands[8].cmd)
	create, _ := AppendCommand(nil, &goldenCommands[0].cmd)
	know, _ := AppendCommand(nil, &goldenCommands[5].cmd)
	badBool := append([]byte(nil), know...)
	badBool[len(badBool)-1] = 2
	longRef := Command{Kind: CmdCreateClient, Ref: strings.Repeat("x", RefMax+1)}
	atLimit := Command{Kind: CmdCreateClient, Ref: strings.Repeat("x", RefMax)}
	if _, err := AppendCommand(nil, &longRef); err != ErrStringTooLong {
		t.Errorf("encoding a %d-byte ref: %v", RefMax+1, err)
	}
	okRef, err := AppendCommand(nil, &atLimit)
	if err != nil {
		t.Fatalf("a %d-byte ref must encode: %v", RefMax, err)
	}
	keyedCmd := Command{Kind: CmdApproveProposal, Key: 5, Gov: &GovArgs{Operator: "rob", ID: 3}}
	keyed, _ := AppendCommand(nil, &keyedCmd)
	keyedZero := append(append([]byte(nil), keyed[:len(keyed)-8]...), make([]byte, 8)...)
	namedCmd := Command{Kind: CmdPlaceOrder, Client: 3, Key: 4, Side: book.Buy, Price: 5, Qty: 6, Ref: "q-1"}
	named, _ := AppendCommand(nil, &namedCmd)
	namedBody := named[:len(named)-len(namedCmd.Ref)-1] // version 1's fields under a version 2 header
	namedEmpty := append(append([]byte(nil), namedBody...), 0)
	namedLong := append(append(append([]byte(nil), namedBody...), RefMax+1), bytes.Repeat([]byte{'x'}, RefMax+1)...)
	tooLong := append(append([]byte{byte(CmdCreateClient), Version}, make([]byte, 8)...), RefMax+1)
	tooLong = append(tooLong, bytes.Repeat([]byte{'x'}, RefMax+1)...)
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"kind only", []byte{byte(CmdDeposit)}, ErrShort},
		{"unknown kind", []byte{0xEE, Version}, ErrUnknownKind},
		{"kind zero", []byte{0, Version}, ErrUnknownKind},
		{"future version", []byte{byte(CmdDeposit), 2}, ErrUnknownVer},
		{"truncated", place[:len(place)-1], ErrShort},
		{"trailing byte", append(append([]byte(nil), place...), 0), ErrTrailing},
		{"string cut short", create[:len(create)-2], ErrShort},
		{"string over limit", tooLong, ErrStringTooLong},
		{"bool 2", badBool, ErrBadBool},
		{"version 2 of a kind without one", append([]byte{byte(CmdDeposit), Version2}, place[2:]...), ErrUnknownVer},
		{"version 2 with key 0", keyedZero, ErrNonCanonical},
		{"version 2 without its key", keyed[:len(keyed)-8], ErrShort},
		{"version 2 place with an empty ref", namedEmpty, ErrNonCanonical},
		{"version 2 place with a ref over RefMax", namedLong, ErrStringTooLong},
		{"version 2 place without its ref", named[:len(named)-len(namedCmd.Ref)-1], ErrShort},
		{"version 2 place with its ref cut short", named[:len(named)-1], ErrShort},
	}
	for _, c := range cases {
		if _, err := DecodeCommand(c.b); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := DecodeCommand(okRef); err != nil {
		t.Errorf("a ref at the limit must decode: %v", err)
	}
}

// Fuzz: decoding arbitrary bytes never panics, and anything that decodes
// re-encodes to the same bytes (the encoding is canonical).
func FuzzCommandRoundTrip(f *testing.F) {
	for _, g := range goldenCommands {
		b, _ := AppendCommand(nil, &g.cmd)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		again, err := AppendCommand(nil, &c)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip: %x → %+v → %x (%v)", b, c, again, err)
		}
	})
}

func FuzzEventRoundTrip(f *testing.F) {
	for _, g := range goldenEvents {
		b, _ := AppendEvent(nil, &g.ev)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvent(b)
		if err != nil {
			return
		}
		again, err := AppendEvent(nil, &ev)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip: %x → %+v → %x (%v)", b, ev, again, err)
		}
	})
}

// Applying a fuzzed command to a live engine never panics and never breaks
// an invariant: the decoder is the edge of the core, Apply the next line.
func FuzzApply(f *testing.F) {
	for _, g := range goldenCommands {
		b, _ := AppendCommand(nil, &g.cmd)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		h := newHarness(t)
		a, mm := h.trader(100_000), h.trader(100_000)
		h.mark(btc, 500_000)
		h.mark(eth, 300_000)
		h.ok(limit(mm, btc, book.Sell, 505_000, 100))
		h.ok(limit(a, btc, book.Buy, 495_000, 100))
		h.do(c)
	})
}

// sameCommand compares commands including their governance arguments.
func sameCommand(a, b *Command) bool {
	x, y := *a, *b
	x.Gov, y.Gov = nil, nil
	return x == y && (a.Gov == nil) == (b.Gov == nil) && (a.Gov == nil || *a.Gov == *b.Gov)
}

// A governance-side command without a key keeps its version 1 bytes (logs
// and snapshots written before keys existed read the same); with a key it
// is version 1's bytes plus the key, as version 2.
func TestKeyedGovernanceEncoding(t *testing.T) {
	for _, g := range goldenCommands {
		if !hasGovArgs(g.cmd.Kind) {
			continue
		}
		plain := g.cmd
		plain.Key = 0
		v1, err := AppendCommand(nil, &plain)
		if err != nil || v1[1] != Version {
			t.Fatalf("%s: keyless encodes as version %d (%v)", g.name, v1[1], err)
		}
		keyed := plain
		keyed.Key = 0xA1B2C3D4E5F60718
		v2, err := AppendCommand(nil, &keyed)
		if err != nil || v2[1] != Version2 || !bytes.Equal(v2[2:len(v2)-8], v1[2:]) ||
			!bytes.Equal(v2[len(v2)-8:], []byte{0x18, 0x07, 0xF6, 0xE5, 0xD4, 0xC3, 0xB2, 0xA1}) {
			t.Fatalf("%s: keyed record %x is not version 1 %x plus the key (%v)", g.name, v2, v1, err)
		}
		back, err := DecodeCommand(v2)
		if err != nil || !sameCommand(&back, &keyed) {
			t.Fatalf("%s: keyed round trip %+v (%v)", g.name, back, err)
		}
	}
}

// A place without a client order id text keeps its version 1 bytes (every
// log written before the text was carried reads the same); with one it is
// version 1's bytes plus the length-prefixed text, as version 2, up to
// RefMax bytes.
func TestNamedPlaceEncoding(t *testing.T) {
	for _, g := range goldenCommands {
		if g.cmd.Kind != CmdPlaceOrder {
			continue
		}
		plain := g.cmd
		plain.Ref = ""
		v1, err := AppendCommand(nil, &plain)
		if err != nil || v1[1] != Version {
			t.Fatalf("%s: unnamed encodes as version %d (%v)", g.name, v1[1], err)
		}
		for _, ref := range []string{"a", "my-order-1", strings.Repeat("z", 36), strings.Repeat("r", RefMax)} {
			named := plain
			named.Ref = ref
			v2, err := AppendCommand(nil, &named)
			want := append(append([]byte{byte(CmdPlaceOrder), Version2}, v1[2:]...), byte(len(ref)))
			if err != nil || !bytes.Equal(v2, append(want, ref...)) {
				t.Fatalf("%s: named record %x is not version 1 %x plus %q (%v)", g.name, v2, v1, ref, err)
			}
			back, err := DecodeCommand(v2)
			if err != nil || !sameCommand(&back, &named) {
				t.Fatalf("%s: named round trip %+v (%v)", g.name, back, err)
			}
		}
	}
}

// The engine ignores a place's text: the same orders with and without it
// give the same results and state hash (the events differ only in the
// accepted events' texts: TestNamedPlaceNamesItsAcceptedEvent), and a
// retry that adds the
// text to an order placed without it is a retry, not a conflicting reuse
// of the key.
func TestNamedPlaceIgnoredByEngine(t *testing.T) {
	var b ClientID
	run := func(name bool) (*harness, []Result) {
		h := newHarness(t)
		var a ClientID
		a, b = h.trader(100_000), h.trader(100_000)
		h.mark(btc, 500_000)
		var out []Result
		for i, c := range []Command{limit(a, btc, book.Sell, 501_000, 10), limit(b, btc, book.Buy, 501_000, 4),
			limit(b, btc, book.Buy, 499_000, 3)} {
			c.Key = uint64(100 + i)
			if name {
				c.Ref = "cid-" + strings.Repeat("x", i+1)
			}
			out = append(out, h.ok(c))
		}
		return h, out
	}
	plain, rp := run(false)
	named, rn := run(true)
	if plain.e.StateHash() != named.e.StateHash() || fmt.Sprint(rp) != fmt.Sprint(rn) {
		t.Fatalf("the text changed the engine: results %v vs %v", rp, rn)
	}
	retry := limit(b, btc, book.Buy, 499_000, 3)
	retry.Key, retry.Ref = 102, "another-text"
	if r := plain.do(retry); r.Code != OK || !r.Replayed || r.Order != rp[2].Order {
		t.Fatalf("retry with a text: %+v, want a replay of %+v", r, rp[2])
	}
	if plain.e.StateHash() != named.e.StateHash() {
		t.Fatal("a replayed retry changed the state")
	}
}

// A named place's text is on its own accepted event only: not on the
// trades, nor on an unnamed order's events, nor on another client's order
// accepted with the same key.
func TestNamedPlaceNamesItsAcceptedEvent(t *testing.T) {
	h := newHarness(t)
	a, b := h.trader(100_000), h.trader(100_000)
	h.mark(btc, 500_000)
	rest := limit(a, btc, book.Sell, 501_000, 10)
	rest.Key = 7 // the same key as b's order below, another client
	h.ok(rest)
	if ev := h.last(EvOrderAccepted); ev.Ref != "" {
		t.Fatalf("unnamed order's accepted event has text %q", ev.Ref)
	}
	take := limit(b, btc, book.Buy, 501_000, 4)
	take.Key, take.Ref = 7, "take-1"
	h.ok(take)
	named := 0
	for _, ev := range h.evs {
		switch {
		case ev.Kind == EvOrderAccepted && ev.Client == b:
			if ev.Ref != "take-1" {
				t.Fatalf("the place's accepted event has text %q", ev.Ref)
			}
			named++
		case ev.Ref != "":
			t.Fatalf("%v event has text %q", ev.Kind, ev.Ref)
		}
	}
	if named != 1 || h.count(EvTrade) != 1 {
		t.Fatalf("%d named accepted events, %d trades", named, h.count(EvTrade))
	}
	for _, ev := range h.evs {
		b, err := AppendEvent(nil, &ev)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEvent(b)
		if err != nil || !sameEvent(&back, &ev) {
			t.Fatalf("%v round trip: %+v (%v)", ev.Kind, back, err)
		}
	}
}

// Malformed named accepted events are refused: an empty or oversized text
// under version 2, version 2 of a kind without one, a text cut short.
func TestDecodeEventRejectsNamed(t *testing.T) {
	var acc Event
	for _, g := range goldenEvents {
		if g.name == "order_accepted_named" {
			acc = g.ev
		}
	}
	named, err := AppendEvent(nil, &acc)
	if err != nil || named[1] != Version2 {
		t.Fatalf("named accepted event: version %d (%v)", named[1], err)
	}
	body := named[:len(named)-len(acc.Ref)-1]
	plain := acc
	plain.Ref = ""
	v1, _ := AppendEvent(nil, &plain)
	if v1[1] != Version || !bytes.Equal(v1[2:], body[2:]) {
		t.Fatalf("version 2 is not version 1 plus the text: %x vs %x", named, v1)
	}
	trade := goldenEvents[0].ev
	for _, g := range goldenEvents {
		if g.name == "trade" {
			trade = g.ev
		}
	}
	tr, _ := AppendEvent(nil, &trade)
	long := acc
	long.Ref = strings.Repeat("x", RefMax+1)
	if _, err := AppendEvent(nil, &long); err != ErrStringTooLong {
		t.Errorf("encoding a %d-byte text: %v", RefMax+1, err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty text", append(append([]byte(nil), body...), 0), ErrNonCanonical},
		{"text over RefMax", append(append(append([]byte(nil), body...), RefMax+1), bytes.Repeat([]byte{'x'}, RefMax+1)...), ErrStringTooLong},
		{"text missing", body, ErrShort},
		{"text cut short", named[:len(named)-1], ErrShort},
		{"version 2 of a trade", append([]byte{byte(EvTrade), Version2}, tr[2:]...), ErrUnknownVer},
	} {
		if _, err := DecodeEvent(c.b); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
