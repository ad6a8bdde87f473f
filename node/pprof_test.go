package node

import (
	"errors"
	"net/http"
	"testing"
)

// Profiles are served on a loopback address, and refused anywhere else.
func TestServePprof(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"localhost:0", true},
		{"0.0.0.0:6060", false},
		{"10.0.0.5:6060", false},
		{":6060", false},
		{"127.0.0.1", false}, // no port
	} {
		a, err := ServePprof(c.addr)
		if !c.ok {
			if !errors.Is(err, ErrNotLoopback) {
				t.Errorf("%s: %v, %v", c.addr, a, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		res, err := http.Get("http://" + a.String() + "/debug/pprof/")
		if err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("%s: %v %v", c.addr, res, err)
			continue
		}
		res.Body.Close()
	}
}
