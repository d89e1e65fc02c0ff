package governance

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Hash returns SHA-256 of the store's canonical state: operators by id,
// proposals by id, sets by id with every version, the unreviewed list, the
// clock and the event sequence. Two stores that saw the same commands have
// the same hash; replay tests and snapshots compare it.
func (s *Store) Hash() [32]byte { return s.hash(s.now) }

// ContentHash is Hash with the clock left out (written as 0): what the
// store holds, whatever instant it was last ticked to. The engine hashes
// this, so a refused command that only advanced the clock changes nothing.
func (s *Store) ContentHash() [32]byte { return s.hash(0) }

func (s *Store) hash(now int64) [32]byte {
	var b []byte
	u := func(x uint64) { b = binary.BigEndian.AppendUint64(b, x) }
	str := func(x string) { b = appendStr(b, x) }
	b = append(b, "SPGOV1"...)
	u(uint64(now))
	u(s.seq)
	u(uint64(len(s.opIDs)))
	for _, id := range s.opIDs {
		o := s.ops[id]
		str(o.ID)
		b = append(b, byte(o.Role), b2u(o.Active))
		u(uint64(o.AddedAt))
	}
	u(uint64(len(s.props)))
	for _, p := range s.props {
		u(p.ID)
		str(p.Set)
		b = p.Value.Encode(b)
		u(uint64(p.EffectiveAt))
		str(p.Proposer)
		u(uint64(p.ProposedAt))
		str(p.Note)
		b = append(b, byte(p.State))
		str(p.Decider)
		u(uint64(p.DecidedAt))
		u(p.Version)
	}
	u(uint64(len(s.setIDs)))
	for _, id := range s.setIDs {
		ps := s.sets[id]
		str(id)
		u(uint64(len(ps.versions)))
		for _, v := range ps.versions {
			u(v.Number)
			b = v.Value.Encode(b)
			u(uint64(v.EffectiveAt))
			b = append(b, byte(v.Origin), b2u(v.Flagged))
			u(v.Proposal)
			str(v.Proposer)
			str(v.Approver)
			u(uint64(v.ReviewDue))
			str(v.Reviewer)
			u(uint64(v.ReviewedAt))
		}
	}
	u(uint64(len(s.reviews)))
	for _, r := range s.reviews {
		str(r.set)
		u(r.version)
	}
	return sha256.Sum256(b)
}

// Check verifies the invariants listed in the package doc against the whole
// state. Tests and the simulator call it after every command; the engine
// may call it after a snapshot restore.
func (s *Store) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !slices.IsSorted(s.opIDs) || len(s.opIDs) != len(s.ops) {
		bad("operator index out of step")
	}
	if !slices.IsSorted(s.setIDs) || len(s.setIDs) != len(s.sets) {
		bad("set index out of step")
	}
	var open []uint64
	for i, p := range s.props {
		if p.ID != uint64(i)+1 {
			bad("proposal %d stored at %d", p.ID, i+1)
		}
		if p.State.open() {
			open = append(open, p.ID)
			if p.EffectiveAt <= s.now {
				bad("proposal %d open past its effective time", p.ID)
			}
		}
		if p.State == Active {
			ps := s.sets[p.Set]
			if ps == nil || p.Version == 0 || p.Version > uint64(len(ps.versions)) || ps.versions[p.Version-1].Proposal != p.ID {
				bad("active proposal %d has no matching version", p.ID)
			}
		}
		if p.State == Scheduled || p.State == Active {
			if p.Decider == "" || p.Decider == p.Proposer {
				bad("proposal %d approved without a distinct checker", p.ID)
			}
		}
		if p.State == Scheduled {
			for _, q := range s.props[:i] {
				if q.State == Scheduled && q.Set == p.Set && q.EffectiveAt == p.EffectiveAt {
					bad("proposals %d and %d scheduled for the same set and instant", q.ID, p.ID)
				}
			}
		}
	}
	if !slices.Equal(open, s.open) {
		bad("open list %v, want %v", s.open, open)
	}
	var unreviewed []verRef
	for _, id := range s.setIDs {
		ps := s.sets[id]
		if len(ps.versions) == 0 {
			bad("set %s has no version", id)
		}
		for i, v := range ps.versions {
			if v.Number != uint64(i)+1 || v.Set != id {
				bad("set %s version %d numbered %d", id, i+1, v.Number)
			}
			if i > 0 && v.EffectiveAt < ps.versions[i-1].EffectiveAt {
				bad("set %s version %d effective before its predecessor", id, v.Number)
			}
			if v.EffectiveAt > s.now {
				bad("set %s version %d active before its effective time", id, v.Number)
			}
			if r := ps.schema.Validate(id, v.Value); r != ReasonNone {
				bad("set %s version %d invalid: %s", id, v.Number, r)
			}
			switch v.Origin {
			case OriginGenesis:
				if v.Number != 1 {
					bad("set %s genesis version %d", id, v.Number)
				}
			case OriginApproved:
				if v.Proposal == 0 || v.Proposal > uint64(len(s.props)) {
					bad("set %s version %d: no proposal", id, v.Number)
					break
				}
				p := s.props[v.Proposal-1]
				if p.State != Active || p.Version != v.Number || p.Set != id || p.EffectiveAt != v.EffectiveAt ||
					v.Approver == "" || v.Approver == v.Proposer || p.Decider != v.Approver || !p.Value.Equal(v.Value) {
					bad("set %s version %d does not match approved proposal %d", id, v.Number, p.ID)
				}
			case OriginEmergency:
				if i == 0 || v.ReviewDue != v.EffectiveAt+s.cfg.ReviewWindow || v.Proposer == "" {
					bad("set %s version %d: malformed emergency record", id, v.Number)
				} else if ch, _ := ps.schema.Compare(ps.versions[i-1].Value, v.Value); ch != Tighter {
					bad("set %s version %d: emergency change is %s", id, v.Number, ch)
				}
				if v.Reviewer == v.Proposer {
					bad("set %s version %d reviewed by its applier", id, v.Number)
				}
				if v.Reviewer == "" {
					unreviewed = append(unreviewed, verRef{id, v.Number})
				}
				// The flag goes up on the first tick past the due instant,
				// and every command is preceded by a tick, so it is up
				// exactly when the review was (or still is) late.
				late := v.ReviewDue < s.now
				if v.Reviewer != "" {
					late = v.ReviewedAt > v.ReviewDue
				}
				if v.Flagged != late {
					bad("set %s version %d: overdue flag %v out of step", id, v.Number, v.Flagged)
				}
			default:
				bad("set %s version %d has no origin", id, v.Number)
			}
		}
	}
	// reviews is in application order, which is not set-id order; compare
	// as sets.
	if len(unreviewed) != len(s.reviews) {
		bad("unreviewed list has %d entries, want %d", len(s.reviews), len(unreviewed))
	} else {
		for _, r := range unreviewed {
			if !slices.Contains(s.reviews, r) {
				bad("unreviewed %s v%d missing from the list", r.set, r.version)
			}
		}
	}
	return errors.Join(errs...)
}
