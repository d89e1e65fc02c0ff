package gateway

import (
	"bytes"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// The served document, docs/openapi.json and the router agree: the files
// are byte-identical and every route is documented, and nothing else is.
func TestOpenAPIMatchesDocsAndRoutes(t *testing.T) {
	ev := newEnv(t, nil)
	served := ev.must(ev.do("GET", "/v1/openapi.json", "", nil), 200).body
	docs, err := os.ReadFile("../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, docs) {
		t.Fatal("docs/openapi.json differs from the served document (gateway/openapi.json); copy one over the other")
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(docs, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	var missing []string
	for _, r := range ev.srv.Routes() {
		if !documented[r] {
			missing = append(missing, r)
		}
		delete(documented, r)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes missing from the document: %v", missing)
	}
	if len(documented) > 0 {
		t.Errorf("documented but not routed: %v", documented)
	}
}
