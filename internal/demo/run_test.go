package demo

import "testing"

// The demo warns when its API is reached from beyond this machine: its
// members act with plain-text tokens and unencrypted keys.
func TestBeyondLoopback(t *testing.T) {
	for _, c := range []struct {
		url, host string
		beyond    bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1", false},
		{"http://localhost:8080", "localhost", false},
		{"http://[::1]:8080", "::1", false},
		{"http://0.0.0.0:8080", "0.0.0.0", true},
		{"http://10.0.0.5:8080", "10.0.0.5", true},
		{"http://demo.example:8080", "demo.example", true},
		{"not an address", "", false},
	} {
		if host, beyond := beyondLoopback(c.url); host != c.host || beyond != c.beyond {
			t.Errorf("%s: %q %v, want %q %v", c.url, host, beyond, c.host, c.beyond)
		}
	}
}
