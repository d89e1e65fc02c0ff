package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/sampan-hk/sampan/gateway"
)

// fileKeys is the API-key store of `sampan serve`: keys live in memory and
// are written to DATA/keys.json (mode 0600) whenever one is issued, so a
// restart keeps them. Keys are not engine state on purpose: secrets never
// enter the replicated log or its audit export.
//
// Gap (tracked): secrets are stored in plain text on the node's disk; a
// production deployment should keep them in an HSM or secrets manager.
type fileKeys struct {
	mu   sync.Mutex
	path string
	mem  *gateway.MemKeys
	all  map[string]*gateway.Key
}

type storedKey struct {
	ID                 string   `json:"id"`
	Secret             string   `json:"secret"`
	Account            uint64   `json:"account,omitempty"`
	Perms              uint8    `json:"perms"`
	Role               string   `json:"role,omitempty"`
	Allow              []string `json:"allow,omitempty"`
	CancelOnDisconnect bool     `json:"cancel_on_disconnect,omitempty"`
	Operator           string   `json:"operator,omitempty"` // governance operator id (operator keys)
	Label              string   `json:"label,omitempty"`
}

func openKeys(dir string) (*fileKeys, error) {
	f := &fileKeys{path: filepath.Join(dir, "keys.json"), mem: gateway.NewMemKeys(), all: map[string]*gateway.Key{}}
	data, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	var list []storedKey
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("keys: %s: %w", f.path, err)
	}
	for _, s := range list {
		k := &gateway.Key{ID: s.ID, Secret: []byte(s.Secret), Account: s.Account, Perms: gateway.Perm(s.Perms),
			Role: gateway.Role(s.Role), CancelOnDisconnect: s.CancelOnDisconnect, Operator: s.Operator}
		for _, a := range s.Allow {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("keys: %s: key %s: %w", f.path, s.ID, err)
			}
			k.Allow = append(k.Allow, p)
		}
		f.mem.Put(k)
		f.all[k.ID] = k
	}
	return f, nil
}

// Lookup implements gateway.KeyStore.
func (f *fileKeys) Lookup(id string) (*gateway.Key, bool) { return f.mem.Lookup(id) }

// Put implements gateway.KeyIssuer and persists the store.
func (f *fileKeys) Put(k *gateway.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mem.Put(k)
	f.all[k.ID] = k
	if err := f.save(); err != nil {
		// The key works until restart; say loudly that it will not survive.
		fmt.Fprintf(os.Stderr, "sampan: could not persist API keys to %s: %v\n", f.path, err)
	}
}

// Len reports how many keys the store holds.
func (f *fileKeys) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.all)
}

func (f *fileKeys) save() error {
	ids := make([]string, 0, len(f.all))
	for id := range f.all {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	list := make([]storedKey, 0, len(ids))
	for _, id := range ids {
		k := f.all[id]
		s := storedKey{ID: k.ID, Secret: string(k.Secret), Account: k.Account, Perms: uint8(k.Perms), Role: string(k.Role),
			CancelOnDisconnect: k.CancelOnDisconnect, Operator: k.Operator}
		for _, p := range k.Allow {
			s.Allow = append(s.Allow, p.String())
		}
		list = append(list, s)
	}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.path)
}

// newSecretKey makes a key id and secret from the system's randomness.
func newSecretKey() (id, secret string) {
	b := make([]byte, 12+32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:])
}
