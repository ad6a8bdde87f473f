package client

import (
	"context"
	"encoding/json"
	"net/url"
)

// WithToken returns a client of the same node that sends token (an API
// token naming a key the node holds) with every request, for the routes
// only some callers may read.
func (c *Client) WithToken(token string) *Client {
	return &Client{base: c.base, http: c.http, token: token}
}

// Query reads a route of the API (a module query, see GET
// /api/v1/openapi.json) and returns its JSON answer as it came.
func (c *Client) Query(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	var out json.RawMessage
	return out, c.do(ctx, "GET", path, nil, &out)
}
