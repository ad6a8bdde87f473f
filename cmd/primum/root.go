package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/internal/clienv"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
)

// globals are the flags every command shares; what follows from them
// (keys, signing, reading as the caller) is the command's clienv.Env.
type globals struct {
	home     string
	output   string
	nodeURL  string
	logLevel string
	at       string      // a patient's pseudonym at this organisation (--at)
	e        *clienv.Env // made from the flags once they are parsed (env)
}

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
	f.StringVar(&g.home, "home", defaultHome(), "node home folder (env PRIMUM_HOME)")
	f.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&g.nodeURL, "node", "", "REST API of the node to talk to (default: this home's API address)")
	f.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&g.at, "at", "", "a patient's --from signs as their own pseudonym at this organisation (name or id; see 'primum identity pseudonyms')")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if g.output != "text" && g.output != "json" {
			return fmt.Errorf("--output must be text or json, not %q", g.output)
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		g.e = nil // this command's own, from its flags
		return nil
	}
	tx, _ := newTxCmd(g)
	tx.Short += " (the identity and governance verbs are now 'primum identity …' and 'primum governance …'; these spellings stay for one release)"
	root.AddCommand(newDemoCmd(g), newInitCmd(g), newNodeCmd(g), newKeysCmd(g), tx, newQueryCmd(g), newTestnetCmd(g), newBenchCmd(g), newKVStoreNodeCmd(g), newVerifyCmd(g), newSupplyCmd(g), newRecordsCmd(g), newConsentCmd(g), newTrialsCmd(g), newFLCmd(g), newResearchCmd(g), newDevicesCmd(g), newClaimsCmd(g), newTokensCmd(g))
	root.AddCommand(newNounCmds(g)...)
	autocli.AddCommands(g, root, renamed)
	autocli.AddLegacy(g, tx, renamed)
	return root
}

// env is this command's clienv.Env, made from its flags on first use.
func (g *globals) env() *clienv.Env {
	if g.e == nil {
		g.e = &clienv.Env{Home: g.home, Node: g.nodeURL, Output: g.output, At: g.at}
	}
	return g.e
}

// The generated verbs' autocli.Env is this command's.
func (g *globals) Send(cmd *cobra.Command, r ledger.Route, values map[string]any) error {
	return g.env().Send(cmd, r, values)
}
func (g *globals) Read(cmd *cobra.Command, r autocli.Read) ([]byte, url.Values, error) {
	return g.env().Read(cmd, r)
}
func (g *globals) Names(ctx context.Context) autocli.Names { return g.env().Names(ctx) }
func (g *globals) Text() bool                              { return g.env().Text() }

// What the hand-written verbs use of it, by their names.
var apiToken = clienv.APIToken

func (g *globals) client() *client.Client { return g.env().Client() }
func (g *globals) keys() keyring.Dir      { return g.env().Keys() }
func (g *globals) fromKey(ctx context.Context, from string) (ed25519.PrivateKey, error) {
	return g.env().FromKey(ctx, from)
}
func (g *globals) readClient(ctx context.Context, from string) (*client.Client, error) {
	return g.env().ReadClient(ctx, from)
}
func (g *globals) patientOf(cmd *cobra.Command, args []string, from string) (string, error) {
	return g.env().PatientOf(cmd.Context(), args, from)
}
func (g *globals) findPseudonyms(ctx context.Context, from string, search bool) ([]client.Pseudonym, error) {
	return g.env().FindPseudonyms(ctx, from, search)
}
func (g *globals) print(w io.Writer, v any, text func(io.Writer)) error {
	return g.env().Print(w, v, text)
}
