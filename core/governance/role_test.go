package governance

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/audit"
)

// docs/governance.md's permission table is the specification; Allowed must
// agree with every cell, and every granted permission must be in the table.
func TestDocMatrix(t *testing.T) {
	doc, err := os.ReadFile("../../docs/governance.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- permission-matrix")
	table, _, ok2 := strings.Cut(rest, "<!-- end permission-matrix -->")
	if !ok || !ok2 {
		t.Fatal("no permission matrix in docs/governance.md")
	}
	rolesInDoc := []Role{RoleAdmin, RoleRiskOfficer, RoleComplianceOfficer, RoleOperations, RoleAuditor}
	seen := map[[2]uint8]bool{}
	for _, ln := range strings.Split(table, "\n") {
		cells := strings.Split(ln, "|")
		if len(cells) != 9 || !strings.Contains(cells[1], "`") {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		pn, dn, _ := strings.Cut(key, "/")
		p, d := lookupPerm(pn), lookupDomain(dn)
		if p == permEnd || d == domainEnd {
			t.Fatalf("unknown permission/domain %q", key)
		}
		seen[[2]uint8{uint8(p), uint8(d)}] = true
		for i, r := range rolesInDoc {
			want := strings.TrimSpace(cells[3+i]) == "✓"
			if Allowed(r, p, d) != want {
				t.Errorf("%s for %s: doc says %v, code says %v", key, r, want, !want)
			}
		}
	}
	for p := Permission(0); p < permEnd; p++ {
		for d := Domain(0); d < domainEnd; d++ {
			granted := false
			for r := RoleAdmin; r < roleEnd; r++ {
				granted = granted || Allowed(r, p, d)
			}
			if granted && !seen[[2]uint8{uint8(p), uint8(d)}] {
				t.Errorf("%s/%s is granted but missing from the doc table", p, d)
			}
		}
	}
	for _, tc := range []struct {
		r Role
		p Permission
		d Domain
	}{{RoleNone, PermRead, DomainNone}, {roleEnd, PermRead, DomainNone}, {RoleAdmin, permEnd, DomainNone}, {RoleAdmin, PermRead, domainEnd}} {
		if Allowed(tc.r, tc.p, tc.d) {
			t.Errorf("out-of-range %v allowed", tc)
		}
	}
}

func lookupPerm(s string) Permission {
	for p := Permission(0); p < permEnd; p++ {
		if p.String() == s {
			return p
		}
	}
	return permEnd
}

func lookupDomain(s string) Domain {
	for d := Domain(0); d < domainEnd; d++ {
		if d.String() == s {
			return d
		}
	}
	return domainEnd
}

// The governance events of a full scenario, chained and exported, verify
// offline, and tampering with any one payload byte is caught.
func TestEventsChainAndVerify(t *testing.T) {
	s, evs := New(DefaultConfig, catalog(), Genesis{Time: t0,
		Operators: []Operator{{ID: "risk1", Role: RoleRiskOfficer}, {ID: "risk2", Role: RoleRiskOfficer}},
		Sets:      []GenesisSet{{"collateral:BTC", collateral(1, 600_000, 500_000)}}})
	step := func(e []Event, r Reason) {
		t.Helper()
		mustOK(t, r)
		evs = append(evs, e...)
	}
	id, e, r := s.Propose(t0, "risk1", "collateral:ETH", collateral(1, 650_000, 300_000), t0+60*sec, "add ETH")
	step(e, r)
	step(s.Approve(t0, "risk2", id))
	evs = append(evs, s.Tick(t0+60*sec)...)
	_, e, r = s.EmergencyTighten(t0+60*sec, "risk2", "collateral:ETH", collateral(1, 700_000, 300_000), "vol")
	step(e, r)
	evs = append(evs, s.Tick(t0+25*Hour)...)

	var c audit.Chain
	var recs []audit.Record
	for i := range evs {
		recs = append(recs, c.Append(evs[i].Time, evs[i].Kind.String(), evs[i].Encode(nil)))
	}
	file, err := audit.Export(recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(file); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(file, []byte("\n")); n != len(evs)+1 {
		t.Fatalf("%d lines for %d events", n, len(evs))
	}
	i := bytes.Index(file, []byte(`"payload":"`)) + len(`"payload":"`) + 3
	file[i] ^= 1
	if _, err := audit.Verify(file); err == nil {
		t.Fatal("tampered payload verifies")
	}
}
