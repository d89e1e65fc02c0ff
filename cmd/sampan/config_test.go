package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The example configuration in docs/ must load, and a misspelt key must be
// refused rather than silently ignored.
func TestServeConfig(t *testing.T) {
	cfg, err := loadServeConfig(filepath.Join("..", "..", "docs", "sampan.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP != "127.0.0.1:8080" || len(cfg.Feeds) != 5 || cfg.KeyRate != 50 {
		t.Fatalf("loaded %+v", cfg)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("htp: 127.0.0.1:9\n"), 0o600)
	if _, err := loadServeConfig(bad); err == nil || !strings.Contains(err.Error(), "htp") {
		t.Fatalf("misspelt key accepted: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(empty, nil, 0o600)
	if c, err := loadServeConfig(empty); err != nil || c.HTTP != defaultServeConfig().HTTP {
		t.Fatalf("empty file: %+v %v", c, err)
	}
}

// read_store takes only "none", and not together with a PostgreSQL DSN;
// http_server takes only "net/http".
func TestServeConfigReadStore(t *testing.T) {
	for body, want := range map[string]string{
		"read_store: none\n": "",
		"read_store: off\n":  "is not a choice",
		"read_store: none\nread_store_dsn: postgres://x\n":             "one of them is a mistake",
		"read_store: none\nhttp_server: net/http\n":                    "",
		"read_store: none\nhttp_server: fasthttp\n":                    "http_server: \"fasthttp\" is not a choice",
		"read_store: none\ntrusted_proxies: [10.0.0.0/8, 192.0.2.1]\n": "",
		"read_store: none\ntrusted_proxies: [lb.internal]\n":           "trusted_proxies: \"lb.internal\" is not an IP address or prefix",
	} {
		f := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(f, []byte(body), 0o600)
		c, err := loadServeConfig(f)
		switch {
		case want == "" && (err != nil || c.ReadStore != "none"):
			t.Errorf("%q: %+v %v", body, c.ReadStore, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}
}
