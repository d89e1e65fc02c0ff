package gateway

import (
	"crypto/sha256"
	"embed"
	"net/http"
	"slices"
	"strconv"

	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
)

// Risk-disclosure texts. Each version's text is a file embedded in the
// binary (onboarding_disclosure_vN.md), so it survives restarts without a
// database and every node serves the same bytes. Compliance publishes a
// version by number; the gateway computes the SHA-256 of that text and the
// engine records version and digest in the log. Serving a text checks its
// digest against the engine's record, so a build whose text differs from
// what was published (an edited file) refuses to present it as accepted
// terms. A new version is a new file, never an edit of an old one.

//go:embed onboarding_disclosure_v*.md
var disclosureFS embed.FS

// DisclosureText returns the embedded text of a version.
func DisclosureText(version uint32) ([]byte, bool) {
	b, err := disclosureFS.ReadFile("onboarding_disclosure_v" + strconv.FormatUint(uint64(version), 10) + ".md")
	return b, err == nil
}

// DisclosureVersions lists the versions this build holds a text for.
func DisclosureVersions() []uint32 {
	var out []uint32
	ents, _ := disclosureFS.ReadDir(".")
	for _, e := range ents {
		n := e.Name()
		const pre, suf = "onboarding_disclosure_v", ".md"
		if v, err := strconv.ParseUint(n[len(pre):len(n)-len(suf)], 10, 32); err == nil && v > 0 {
			out = append(out, uint32(v))
		}
	}
	slices.Sort(out)
	return out
}

// MaxDisclosureVersion bounds a version number (the engine keeps 32 bits).
const MaxDisclosureVersion = 1<<32 - 1

// CodeNoDisclosure: nothing has been published yet.
const CodeNoDisclosure Code = "NO_DISCLOSURE_PUBLISHED"

type disclosureJSON struct {
	Version       uint32 `json:"version"`
	Digest        string `json:"digest"` // hex SHA-256 of the text
	PublishedAt   string `json:"published_at"`
	PublishedBy   string `json:"published_by,omitempty"`
	TextAvailable bool   `json:"text_available"`     // this build holds the text and its digest matches
	Replayed      *bool  `json:"replayed,omitempty"` // POST answers: an idempotent retry's
}

func disclosureOut(d eligibility.Disclosure) disclosureJSON {
	o := disclosureJSON{Version: d.Version, Digest: hexOf(d.Digest[:]), PublishedAt: rfc(d.PublishedAt), PublishedBy: d.By}
	if t, ok := DisclosureText(d.Version); ok {
		o.TextAvailable = sha256.Sum256(t) == d.Digest
	}
	return o
}

// postDisclosure publishes a version (compliance, CmdPublishDisclosure).
func (s *Server) postDisclosure(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := govCheck(c.key, governance.PermPublishDisclosure, governance.DomainNone); e != nil {
		return e
	}
	var q struct {
		Version        uint64 `json:"version"`
		IdempotencyKey string `json:"idempotency_key,omitempty"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if q.Version == 0 || q.Version > MaxDisclosureVersion {
		return badField(CodeInvalidField, "version", "version must be a positive integer (the number of an embedded disclosure text)")
	}
	key, e := optKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	text, ok := DisclosureText(uint32(q.Version))
	if !ok {
		return Errf(http.StatusNotFound, CodeNotFound, "version", "this build holds no text for risk disclosure version "+
			strconv.FormatUint(q.Version, 10)+"; versions available: "+versionList(DisclosureVersions()))
	}
	a := engine.GovArgs{Operator: c.key.Operator, ID: q.Version, Digest: sha256.Sum256(text)}
	res, e := s.submitOK(r, &engine.Command{Kind: engine.CmdPublishDisclosure, Key: key, Gov: &a})
	if e != nil {
		return e
	}
	// The version asked for, as published (a replay may come after a
	// newer one).
	var d eligibility.Disclosure
	s.x.View(func(en *engine.Engine) {
		for _, x := range en.Eligibility().Disclosures() {
			if uint64(x.Version) == q.Version {
				d = x
			}
		}
	})
	o := disclosureOut(d)
	o.Replayed = replayedOf(res)
	WriteJSON(w, http.StatusOK, o)
	return nil
}

func versionList(vs []uint32) string {
	out := ""
	for i, v := range vs {
		if i > 0 {
			out += ", "
		}
		out += strconv.FormatUint(uint64(v), 10)
	}
	return out
}

// getDisclosures lists every published version, oldest first, and the
// versions this build can publish.
func (s *Server) getDisclosures(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var ds []eligibility.Disclosure
	s.x.View(func(en *engine.Engine) { ds = en.Eligibility().Disclosures() })
	out := make([]disclosureJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, disclosureOut(d))
	}
	avail := DisclosureVersions()
	if avail == nil {
		avail = []uint32{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"disclosures": out, "texts": avail})
	return nil
}

// getDisclosure shows a client the current risk disclosure: version,
// digest, text, and what this client has accepted.
func (s *Server) getDisclosure(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var d eligibility.Disclosure
	var ok bool
	var rec eligibility.Client
	s.x.View(func(en *engine.Engine) {
		d, ok = en.Eligibility().CurrentDisclosure()
		rec, _ = en.Eligibility().Client(c.key.Account)
	})
	if !ok {
		return Errf(http.StatusNotFound, CodeNoDisclosure, "", "no risk disclosure has been published yet; perpetual trading opens once compliance publishes one and you accept it")
	}
	text, have := DisclosureText(d.Version)
	if !have || sha256.Sum256(text) != d.Digest {
		e := Errf(http.StatusServiceUnavailable, CodeUnavailable, "", "this server does not hold the published text of risk disclosure version "+
			strconv.FormatUint(uint64(d.Version), 10)+" (its digest differs or it is missing); try another node or contact support")
		e.RetryAfter = 60
		return e
	}
	out := map[string]any{"version": d.Version, "digest": hexOf(d.Digest[:]), "published_at": rfc(d.PublishedAt),
		"text": string(text), "accepted_version": rec.Accepted, "accepted": rec.Accepted == d.Version}
	if rec.Accepted != 0 {
		out["accepted_at"] = rfc(rec.AcceptedAt)
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// postAcceptDisclosure records the client's acceptance of the version it
// names (CmdAcceptDisclosure). Naming the version means a client cannot
// accept a text it has not been shown: if a newer version was published
// in between, the engine refuses (disclosure_version_not_current).
// Accepting is a trading act, so it needs the trade permission.
func (s *Server) postAcceptDisclosure(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Version uint64 `json:"version"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if q.Version == 0 || q.Version > MaxDisclosureVersion {
		return badField(CodeInvalidField, "version", "version must be the positive version number shown by GET /v1/disclosure")
	}
	id := engine.ClientID(c.key.Account)
	var rec eligibility.Client
	var d eligibility.Disclosure
	read := func() {
		s.x.View(func(en *engine.Engine) {
			rec, _ = en.Eligibility().Client(uint64(id))
			d, _ = en.Eligibility().CurrentDisclosure()
		})
	}
	read()
	if rec.Accepted != 0 && uint64(rec.Accepted) == q.Version && d.Version == rec.Accepted {
		// A retry: the acceptance on record answers it, nothing is sent.
		writeAccepted(w, id, rec, d, true)
		return nil
	}
	replayed := false
	res, e := s.submit(r.Context(), &engine.Command{Kind: engine.CmdAcceptDisclosure, Client: id, Gov: &engine.GovArgs{ID: q.Version}})
	if e != nil {
		return e
	}
	switch {
	case res.Code == eligCode(eligibility.RejectAlreadyAccepted):
		replayed = true // a concurrent retry got there first
	case res.Code != engine.OK:
		return engineError(res.Code)
	}
	read()
	writeAccepted(w, id, rec, d, replayed)
	return nil
}

func writeAccepted(w http.ResponseWriter, id engine.ClientID, rec eligibility.Client, d eligibility.Disclosure, replayed bool) {
	WriteJSON(w, http.StatusOK, map[string]any{"client_id": strconv.FormatUint(uint64(id), 10), "accepted_version": rec.Accepted,
		"accepted_at": rfc(rec.AcceptedAt), "digest": hexOf(d.Digest[:]), "replayed": replayed})
}
