package node

import (
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
)

// ErrNotLoopback is a profiling address beyond this machine: Go's profiles
// show the node's memory and code paths to whoever asks, so they are
// served on a loopback address only.
var ErrNotLoopback = errors.New("must be a loopback address, e.g. 127.0.0.1:6060")

// ServePprof serves Go's /debug/pprof profiles on addr, a loopback
// address, until the process ends, and answers where it listens.
func ServePprof(addr string) (net.Addr, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !(host == "127.0.0.1" || host == "localhost" || host == "::1") {
		return nil, ErrNotLoopback
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(ln, mux) }()
	return ln.Addr(), nil
}
