package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServesAssetsWithTypes(t *testing.T) {
	h := Handler()
	cases := []struct {
		target, status, ctype, contains string
	}{
		{"/console/", "200", "text/html; charset=utf-8", `<script type="module"`},
		{"/console/markets/BTC-USD-PERP", "200", "text/html; charset=utf-8", "<title>"}, // deep link
		{"/console/js/app.js", "200", "text/javascript; charset=utf-8", "import"},
		{"/console/js/views/markets.js", "200", "text/javascript; charset=utf-8", "export function mount"},
		{"/console/css/console.css", "200", "text/css; charset=utf-8", ":root"},
		{"/console/img/sampan.svg", "200", "image/svg+xml", "<svg"},
		{"/console/js/missing.js", "404", "", ""},
	}
	for _, c := range cases {
		r := get(t, h, "GET", c.target)
		if got := r.Status[:3]; got != c.status {
			t.Errorf("%s: status %s, want %s", c.target, r.Status, c.status)
			continue
		}
		if c.ctype != "" && r.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.target, r.Header.Get("Content-Type"), c.ctype)
		}
		if !strings.Contains(body(t, r), c.contains) {
			t.Errorf("%s: body lacks %q", c.target, c.contains)
		}
		if c.status == "200" {
			if r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("%s: missing security headers: %v", c.target, r.Header)
			}
		}
	}
}

func TestRedirectsAndMethods(t *testing.T) {
	h := Handler()
	if r := get(t, h, "GET", "/console"); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != Prefix {
		t.Errorf("/console: %s → %q, want 301 to %s", r.Status, r.Header.Get("Location"), Prefix)
	}
	if r := get(t, h, "POST", "/console/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", r.Status)
	}
	if r := get(t, h, "HEAD", "/console/js/app.js"); r.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %s, want 200", r.Status)
	}
	if r := get(t, h, "GET", "/elsewhere"); r.StatusCode != http.StatusNotFound {
		t.Errorf("outside the prefix: %s, want 404", r.Status)
	}
	// Revalidation by content hash.
	r := get(t, h, "GET", "/console/js/app.js")
	tag := r.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag on an asset")
	}
	req := httptest.NewRequest("GET", "/console/js/app.js", nil)
	req.Header.Set("If-None-Match", tag)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", rec.Code)
	}
	// Traversal stays inside the embedded tree.
	if r := get(t, h, "GET", "/console/js/../../console.go"); r.StatusCode != http.StatusNotFound {
		t.Errorf("traversal: %s, want 404", r.Status)
	}
}

var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="(/console/[^"]+)"`)
	importRef = regexp.MustCompile(`(?m)^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]`)
)

// TestEveryReferenceResolves follows index.html's links and every module's
// static imports, so a renamed file fails here rather than in a browser.
func TestEveryReferenceResolves(t *testing.T) {
	h := Handler()
	index, err := fs.ReadFile(Assets, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	var queue []string
	for _, m := range htmlRef.FindAllStringSubmatch(string(index), -1) {
		queue = append(queue, m[1])
	}
	if len(queue) < 3 {
		t.Fatalf("index.html references only %v", queue)
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		rel := strings.TrimPrefix(u, Prefix)
		b, err := fs.ReadFile(Assets, rel)
		if err != nil {
			t.Errorf("%s is referenced but not embedded", u)
			continue
		}
		if r := get(t, h, "GET", u); r.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", u, r.Status)
		}
		if path.Ext(rel) != ".js" {
			continue
		}
		for _, m := range importRef.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasPrefix(m[1], ".") {
				t.Errorf("%s imports %q: only relative imports of embedded modules are allowed", u, m[1])
				continue
			}
			queue = append(queue, path.Join(path.Dir(u), m[1]))
		}
	}
	// Every embedded module is reachable (no dead files shipped).
	_ = fs.WalkDir(Assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(p) == ".js" && !strings.HasPrefix(p, "vendor/") && !seen[Prefix+p] {
			t.Errorf("%s is embedded but never imported", p)
		}
		return nil
	})
}
