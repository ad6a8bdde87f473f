package web

import (
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPagesAreLockedDown: every page is served with a Content-Security-Policy
// that allows no inline script and no framing, and no page or script
// needs one (no inline <script>, no on…= handlers, no style attributes):
// a policy the pages broke would be turned off by the first person it
// annoyed.
func TestPagesAreLockedDown(t *testing.T) {
	var files []string // every file served, vendored ones too
	if err := filepath.WalkDir("static", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	inline := regexp.MustCompile(`(?i)<script[^>]*>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// qrcode-generator also builds <img style=…> and <table> markup as
		// strings (createImgTag, createTableTag); the pages never call them:
		// they draw with createDataURL (qr.js).
		if (strings.HasSuffix(f, ".html") || strings.HasSuffix(f, ".js")) && f != filepath.Join("static", "vendor", "qrcode-generator", "qrcode.js") {
			if m := inline.Find(b); m != nil {
				t.Errorf("%s: %q needs an inline-script or inline-style exception to the policy", f, m)
			}
		}
		path := "/" + filepath.ToSlash(strings.TrimPrefix(f, "static"+string(filepath.Separator)))
		if path == "/index.html" {
			path = "/" // the file server redirects index.html there
		}
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		csp := rec.Header().Get("Content-Security-Policy")
		if rec.Code != 200 || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("%s: HTTP %d, Content-Security-Policy %q", f, rec.Code, csp)
		}
		// Only the scanning page may compile WebAssembly (its decoder).
		if wasm := strings.Contains(csp, "'wasm-unsafe-eval'"); wasm != (path == "/verify.html" || path == "/patient.html") {
			t.Errorf("%s: 'wasm-unsafe-eval' %v", f, wasm)
		}
		// WebAssembly compiles as it streams only when served as such.
		if ct := rec.Header().Get("Content-Type"); strings.HasSuffix(f, ".wasm") && ct != "application/wasm" {
			t.Errorf("%s: served as %q", f, ct)
		}
	}
}
