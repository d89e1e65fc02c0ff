// Package console serves Sampan's web console: a single-page application of
// plain JavaScript modules and CSS, embedded in the binary so `sampan serve`
// and `sampan demo` need no Node toolchain and no files on disk.
//
// The console is a client of the public API only (REST under /v1 and the
// WebSocket at /v1/ws on the same origin); it holds no server-side state and
// sees nothing an API client could not. Credentials typed into it stay in the
// browser's memory and every private request is signed there.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// Prefix is where the console is mounted; index.html refers to its assets
// with paths under it.
const Prefix = "/console/"

//go:embed assets
var embedded embed.FS

// Assets is the embedded asset tree, rooted so that "index.html" is the
// page (tests read it to check every reference resolves).
var Assets = mustSub(embedded, "assets")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic("console: " + err.Error())
	}
	return s
}

// etags are content hashes of the embedded files, so a browser revalidates
// cheaply (304) and never keeps a stale asset after an upgrade.
var etags = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(Assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Assets, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[p] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return m
}()

// contentTypes pins the types of the asset kinds we ship, so they do not
// depend on the host's mime tables (module scripts must be served as
// JavaScript or the browser refuses them).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
}

// csp allows only same-origin scripts, styles and connections (REST and the
// WebSocket); nothing is loaded from elsewhere.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the console under Prefix: Prefix itself (and any path
// without a file extension, so deep links work) gets index.html, other paths
// the embedded file or 404. Mount it with mux.Handle(console.Prefix, console.Handler()).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
			return
		}
		rel, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
		if rel == "" || path.Ext(rel) == "" {
			rel = "index.html"
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Assets are small and change with the binary; revalidate every
		// time (the file server answers 304 by modification time).
		h.Set("Cache-Control", "no-cache")
		if ct, ok := contentTypes[path.Ext(rel)]; ok {
			h.Set("Content-Type", ct)
		} else if ct := mime.TypeByExtension(path.Ext(rel)); ct != "" {
			h.Set("Content-Type", ct)
		}
		tag, ok := etags[rel]
		if !ok {
			h.Del("Content-Type")
			http.NotFound(w, r)
			return
		}
		h.Set("ETag", tag)
		// ServeFileFS answers conditional requests from the ETag above
		// (index.html by path would be redirected to "./", so it is served
		// by name like every other file).
		http.ServeFileFS(w, r, Assets, rel)
	})
}
