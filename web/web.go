// Package web is the web interface the node serves: static pages that read
// the node's own REST API. It holds no state and never sees private keys.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every page: scripts, styles and
// requests only from the node itself (and blob: URLs the page made itself,
// such as a key backup to save; no inline script, no CDN: the pages
// work inside a hospital network), no framing (clickjacking), no plugins.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// wasmPages are the pages that run WebAssembly.
var wasmPages = map[string]bool{"/verify.html": true, "/patient.html": true}

// Handler serves the pages. http.FileServer cleans paths, so nothing
// outside the embedded folder can be reached.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		csp := ContentSecurityPolicy
		if wasmPages[r.URL.Path] {
			// The camera scanner's decoder (static/vendor/zxing-wasm) and
			// the portal's record opener (static/vendor/go) are
			// WebAssembly, which compiles only with 'wasm-unsafe-eval' (no
			// JavaScript eval); no other page has it.
			csp = strings.Replace(csp, "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		files.ServeHTTP(w, r)
	})
}
