package web

import (
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
	files, _ := filepath.Glob("static/*")
	inline := regexp.MustCompile(`(?i)<script[^>]*>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".html") || strings.HasSuffix(f, ".js") {
			if m := inline.Find(b); m != nil {
				t.Errorf("%s: %q needs an inline-script or inline-style exception to the policy", f, m)
			}
		}
		path := "/" + filepath.Base(f)
		if path == "/index.html" {
			path = "/" // the file server redirects index.html there
		}
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		csp := rec.Header().Get("Content-Security-Policy")
		if rec.Code != 200 || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: HTTP %d, Content-Security-Policy %q", f, rec.Code, csp)
		}
	}
}
