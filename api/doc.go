// Package api serves Primum's REST JSON API (base /api/v1, OpenAPI 3 at
// /api/v1/openapi.json), /healthz, /metrics and the web interface. Errors
// are RFC 9457 problem details with the same stable codes as the ledger.
// It reads committed state only and never logs request bodies.
package api
