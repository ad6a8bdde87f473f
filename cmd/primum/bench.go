package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/bench"
	"github.com/primum-health/primum/node"
)

func newBenchCmd(g *globals) *cobra.Command {
	var (
		validators int
		duration   time.Duration
		warmup     time.Duration
		clients    int
		offered    float64
		asJSON     bool
		chart      string
		skipKV     bool
		maxTxs     int
		cpuProfile string
		grow       int
		batch      int

		blockCacheMB  int
		blockInterval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure committed throughput and latency against CometBFT's kvstore ceiling",
		Long: `Starts a local network itself (--validators 1 by default; N validators as N processes),
submits signed transactions of a realistic mix (patient self-registrations, practitioner
credentialing and device registrations by the member organisations, patients' consent
grants, a hospital's access entries for practitioners' record requests, each carrying the
practitioner's signed request, and EPCIS supply-chain events: a manufacturer commissioning
and shipping packs, natively and as EPCIS captures, the hospital receiving them and its
pharmacists dispensing them) from concurrent clients through the REST API, and measures
committed transactions per second after a warm-up, submit-to-commit latency
(p50/p95/p99), CPU, resident memory and bytes on disk per committed transaction. Then, in
the same run, it measures CometBFT's own kvstore example application on the same
configuration, driven by the same load generator with transactions of the same size, and
prints both and their ratio.

Load goes only to the loopback networks it starts, and is bounded by --max-txs and time.`,
		Example: `  primum bench
  primum bench --validators 4 --duration 30s --json
  primum bench --chart bench.svg
  primum bench --grow 1000000          # memory as the state grows to a million packs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := bench.Config{Load: bench.Load{Warmup: warmup, Duration: duration, Clients: clients, Rate: offered, Batch: batch},
				Validators: validators, MaxTxs: maxTxs, SkipKVStore: skipKV, CPUProfile: cpuProfile,
				BlockCacheMB: blockCacheMB, BlockInterval: blockInterval,
				Progress: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }}
			if err := cfg.Check(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if grow > 0 {
				rep, err := bench.Grow(cmd.Context(), cfg, grow)
				if err != nil {
					return err
				}
				if asJSON {
					return g.env().Print(out, rep, nil)
				}
				rep.Print(out)
				return nil
			}
			rep, err := bench.Measure(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if chart != "" {
				if err := rep.WriteChart(chart); err != nil {
					return err
				}
			}
			if asJSON {
				return g.env().Print(out, rep, nil)
			}
			rep.Print(out)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&validators, "validators", 1, "validators, each its own process")
	f.DurationVar(&duration, "duration", 20*time.Second, "measured time after warm-up")
	f.DurationVar(&warmup, "warmup", 5*time.Second, "warm-up before measuring")
	f.IntVar(&clients, "clients", 64, "concurrent submitting clients")
	f.IntVar(&batch, "batch", 1, "transactions per request, both targets (Primum's POST /api/v1/txs/batch, a JSON-RPC batch for kvstore)")
	f.Float64Var(&offered, "rate", 0, "offer at most this many transactions per second in all (0: as many as the network accepts); latency below saturation")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&chart, "chart", "", "write throughput and latency over time to this SVG file")
	f.BoolVar(&skipKV, "skip-kvstore", false, "do not measure the kvstore ceiling")
	f.IntVar(&maxTxs, "max-txs", 400000, "upper bound on transactions generated per target")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of Primum's first node during the measured window to this file")
	f.IntVar(&blockCacheMB, "block-cache-mb", 0, "Pebble block cache of each Primum node in MB (0: the default, 256)")
	f.DurationVar(&blockInterval, "block-interval", node.DefaultBlockInterval, "CometBFT's timeout_commit on every node of both targets; longer makes fewer, larger blocks")
	f.IntVar(&grow, "grow", 0, "instead: commission this many packs on one validator and report its resident memory as the state grows (e.g. 1000000)")
	return cmd
}

func newKVStoreNodeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "kvstore-node",
		Short:   "Run CometBFT's kvstore example application on a node home (the benchmark's ceiling)",
		Example: "  primum kvstore-node --home /tmp/primum-bench-1/node0",
		Hidden:  true,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return node.RunKVStore(cmd.Context(), g.env().Home, slog.Default())
		},
	}
}
