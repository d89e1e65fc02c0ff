package engine

import (
	"strconv"
	"testing"
)

// DefaultConfig is valid and matches the issue: BTC tick 0.1 / lot 0.001,
// ETH tick 0.01 / lot 0.01, USD with 6 decimals, 10× maximum leverage.
func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	btcM, ethM := cfg.Markets[0], cfg.Markets[1]
	if btcM.Symbol != "BTC-USD-PERP" || btcM.Spec.Tick.String() != "0.1" || btcM.Spec.Lot.String() != "0.001" ||
		btcM.Spec.NotionalPerLotTick() != 100 {
		t.Errorf("BTC %+v", btcM.Spec)
	}
	if ethM.Symbol != "ETH-USD-PERP" || ethM.Spec.Tick.String() != "0.01" || ethM.Spec.Lot.String() != "0.01" ||
		ethM.Spec.NotionalPerLotTick() != 100 {
		t.Errorf("ETH %+v", ethM.Spec)
	}
	for _, m := range cfg.Markets {
		if m.Brackets[0].MaxLeverage != 10 || m.DefaultLeverage != 10 || m.Spec.QuoteDecimals != 6 {
			t.Errorf("%s: leverage %d/%d", m.Symbol, m.Brackets[0].MaxLeverage, m.DefaultLeverage)
		}
	}
}

// Each bad parameter is refused by New with its own error.
func TestConfigRejects(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want error
	}{
		{"no markets", func(c *Config) { c.Markets = nil }, ErrConfigMarkets},
		{"too many markets", func(c *Config) {
			for i := len(c.Markets); i <= MarketsMax; i++ {
				m := c.Markets[0]
				m.Symbol = "M" + strconv.Itoa(i)
				c.Markets = append(c.Markets, m)
			}
		}, ErrConfigMarkets},
		{"duplicate symbol", func(c *Config) { c.Markets[1].Symbol = c.Markets[0].Symbol }, ErrConfigMarkets},
		{"rebate above taker fee", func(c *Config) { c.Markets[0].MakerFee = -c.Markets[0].TakerFee - 1 }, ErrConfigFees},
		{"negative taker fee", func(c *Config) { c.Markets[0].TakerFee = -1 }, ErrConfigFees},
		{"zero band", func(c *Config) { c.Markets[0].BandPpm = 0 }, ErrConfigBand},
		{"leverage above tier", func(c *Config) { c.Markets[0].DefaultLeverage = 11 }, ErrConfigLev},
		{"no clients", func(c *Config) { c.MaxClients = 0 }, ErrConfigLimits},
		{"no idempotency window", func(c *Config) { c.IdemMax = 0 }, ErrConfigLimits},
	}
	for _, c := range cases {
		cfg := testConfig()
		c.edit(&cfg)
		if _, err := New(cfg); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A rebate equal to the taker fee is allowed (the exchange nets zero).
	cfg := testConfig()
	cfg.Markets[0].MakerFee = -cfg.Markets[0].TakerFee
	if _, err := New(cfg); err != nil {
		t.Error(err)
	}
}
