package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/node"
)

func newNodeCmd(g *globals) *cobra.Command {
	var apiAddr, pprofAddr, tlsCert, tlsKey string
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a node from an initialised home",
		Long: `Runs the node in --home: CometBFT in-process with the Primum application, the REST API,
the web interface and /metrics. After a crash it replays what it had not committed and
catches up with its peers. SIGINT or SIGTERM stops it cleanly.`,
		Example: `  primum node --home ~/.primum
  primum node --home ./testnet/node2 --api-addr 127.0.0.1:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !node.Initialized(g.home) {
				return fmt.Errorf("%s holds no node: run 'primum init' (or 'primum testnet') first", g.home)
			}
			if pprofAddr != "" {
				if err := servePprof(pprofAddr); err != nil {
					return err
				}
			}
			node.TuneGC()
			n, err := node.Start(cmd.Context(), node.Options{Home: g.home, APIAddr: apiAddr, TLSCert: tlsCert, TLSKey: tlsKey, CometMetrics: true, Logger: slog.Default()})
			if err != nil {
				return err
			}
			defer n.Stop()
			slog.Info("node running", "home", g.home, "api", n.APIURL(), "cometbft_rpc", n.RPCAddr())
			<-cmd.Context().Done()
			slog.Info("stopping")
			return nil
		},
	}
	cmd.Flags().StringVar(&apiAddr, "api-addr", "", "REST API listen address (default from config/primum.json)")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "serve the API over HTTPS with this PEM certificate (chain); with --tls-key (default from config/primum.json)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	cmd.Flags().StringVar(&pprofAddr, "pprof-addr", "", "serve Go's pprof profiles on this loopback address (e.g. 127.0.0.1:6060)")
	return cmd
}

// servePprof serves /debug/pprof on a loopback address only.
func servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !(host == "127.0.0.1" || host == "localhost" || host == "::1") {
		return fmt.Errorf("--pprof-addr must be a loopback address, e.g. 127.0.0.1:6060")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(ln, mux) }()
	return nil
}
