package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/internal/clienv"
)

// globals are the flags every command shares: its clienv.Env (keys,
// signing, reading as the caller follow from them) and the log level.
type globals struct {
	e         clienv.Env
	logLevel  string
	logFormat string
}

// env is this command's clienv.Env: the shared flags, as parsed.
func (g *globals) env() *clienv.Env { return &g.e }

func defaultHome() string {
	if h := os.Getenv("PRIMUM_HOME"); h != "" {
		return h
	}
	dir, err := os.UserHomeDir()
	if err != nil {
		return ".primum"
	}
	return filepath.Join(dir, ".primum")
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "primum",
		Short: "Primum: a permissioned ledger for healthcare",
		Long: `Primum keeps one Byzantine-fault-tolerant ledger (CometBFT) of identities, consent,
access, medicine custody and governance for a consortium of healthcare institutions.

Start with "primum demo" to run a one-validator consortium with demo members.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&g.e.Home, "home", defaultHome(), "node home folder (env PRIMUM_HOME)")
	f.StringVarP(&g.e.Output, "output", "o", "text", "output format: text or json")
	f.StringVar(&g.e.Node, "node", "", "REST API of the node to talk to (default: this home's API address)")
	f.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&g.logFormat, "log-format", cmp.Or(os.Getenv("PRIMUM_LOG_FORMAT"), "text"), "log format: text, or json (one object a line, for a log collector; env PRIMUM_LOG_FORMAT)")
	f.StringVar(&g.e.At, "at", "", "a patient's --from signs as their own pseudonym at this organisation (name or id; see 'primum identity pseudonyms')")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if g.e.Output != "text" && g.e.Output != "json" {
			return fmt.Errorf("--output must be text or json, not %q", g.e.Output)
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		opts := &slog.HandlerOptions{Level: level}
		switch strings.ToLower(g.logFormat) {
		case "text":
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, opts)))
		case "json":
			slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, opts)))
		default:
			return fmt.Errorf("--log-format must be text or json, not %q", g.logFormat)
		}
		return nil
	}
	tx, _ := newTxCmd(g)
	tx.Short += " (the identity and governance verbs are now 'primum identity …' and 'primum governance …'; these spellings stay for one release)"
	root.AddCommand(newDemoCmd(g), newInitCmd(g), newNodeCmd(g), newKeysCmd(g), tx, newQueryCmd(g), newTestnetCmd(g), newBenchCmd(g), newKVStoreNodeCmd(g), newVerifyCmd(g), newSupplyCmd(g), newRecordsCmd(g), newConsentCmd(g), newTrialsCmd(g), newFLCmd(g), newResearchCmd(g), newDevicesCmd(g), newClaimsCmd(g), newTokensCmd(g), newDoctorCmd(g))
	root.AddCommand(newGenesisCmd(g), newStateSyncCmd(g), newBackupCmd(g), newRestoreCmd(g), newVersionCmd(g))
	root.AddCommand(newNounCmds(g)...)
	autocli.AddCommands(g.env(), root, renamed)
	autocli.AddLegacy(g.env(), tx, renamed)
	return root
}
