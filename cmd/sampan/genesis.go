package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/gateway"
)

// A data directory remembers the engine configuration it was created with
// (DATA/journal/genesis.json): the initial governance operators and whether
// margin financing (with its spot markets) is enabled. Every
// later start, every replica and every offline replay (verify, replay,
// audit export) must build the engine from the same configuration, or the
// same log would give a different state. Operators added later travel
// through the log as governance commands.
type genesisFile struct {
	Operators []genesisOperator `json:"operators"`
	// Financing: engine.WithFinancing (the spot markets BTC-USD and ETH-USD
	// follow the perpetuals). New directories are created with it on; a
	// directory written before it existed has no field and replays as the
	// perpetual-only engine it was.
	Financing bool `json:"financing,omitempty"`
}

type genesisOperator struct {
	ID   string `json:"id" yaml:"id"`
	Role string `json:"role" yaml:"role"`
}

func genesisPath(journalDir string) string { return filepath.Join(journalDir, "genesis.json") }

// engineConfig returns the engine configuration of a journal directory. If
// the directory has none yet and create is set, initial becomes its genesis
// (written before the log is created); offline tools never create one.
func engineConfig(journalDir string, initial []genesisOperator, create bool) (engine.Config, error) {
	cfg := engine.DefaultConfig()
	data, err := os.ReadFile(genesisPath(journalDir))
	var g genesisFile
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &g); err != nil {
			return cfg, fmt.Errorf("%s: %w", genesisPath(journalDir), err)
		}
	case errors.Is(err, os.ErrNotExist) && !create:
	case errors.Is(err, os.ErrNotExist):
		g.Operators, g.Financing = initial, true
		if err := os.MkdirAll(journalDir, 0o700); err != nil {
			return cfg, err
		}
		out, _ := json.MarshalIndent(g, "", "  ")
		if err := os.WriteFile(genesisPath(journalDir), out, 0o600); err != nil {
			return cfg, err
		}
	default:
		return cfg, err
	}
	if g.Financing {
		cfg = engine.WithFinancing(cfg)
	}
	for _, o := range g.Operators {
		r, ok := governanceRoles[gateway.Role(o.Role)]
		if !ok {
			return cfg, fmt.Errorf("%s: operator %q has unknown role %q", genesisPath(journalDir), o.ID, o.Role)
		}
		cfg.Governance.Operators = append(cfg.Governance.Operators, governance.Operator{ID: o.ID, Role: r, Active: true})
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: %w", genesisPath(journalDir), err)
	}
	return cfg, nil
}

// governanceRoles maps the API's role names to the engine's roles.
var governanceRoles = map[gateway.Role]governance.Role{
	gateway.RoleAdmin: governance.RoleAdmin, gateway.RoleRisk: governance.RoleRiskOfficer,
	gateway.RoleCompliance: governance.RoleComplianceOfficer, gateway.RoleOperations: governance.RoleOperations,
	gateway.RoleAuditor: governance.RoleAuditor,
}

// journalDirOf accepts a node's data directory or its journal directory.
func journalDirOf(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "journal", "wal")); err == nil {
		return filepath.Join(dir, "journal")
	}
	return dir
}
