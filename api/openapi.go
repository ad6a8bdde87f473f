package api

import (
	_ "embed"
	"net/http"
)

// openapiJSON is the generated document (openapi_gen.go), as committed.
//
//go:embed openapi.json
var openapiJSON []byte

// openapiEdge describes the node's own routes, by hand.
//
//go:embed openapi_edge.json
var openapiEdge []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
}
