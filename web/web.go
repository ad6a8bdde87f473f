// Package web is the web interface the node serves: static pages that read
// the node's own REST API. It holds no state and never sees private keys.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the pages. http.FileServer cleans paths, so nothing
// outside the embedded folder can be reached.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return http.FileServer(http.FS(sub))
}
