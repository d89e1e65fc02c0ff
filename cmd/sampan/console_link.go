package main

import (
	"net/http"

	"github.com/sampan-hk/sampan/console"
)

// The web console is served by every node beside the API, on the same
// origin (it signs requests in the browser and opens /v1/ws).
func init() {
	prev := mountExtras
	mountExtras = func(mux *http.ServeMux, s *service) {
		prev(mux, s)
		mux.Handle(console.Prefix, console.Handler())
		mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusFound))
	}
}
