package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/node"
)

// globals are the flags every command shares.
type globals struct {
	home     string
	output   string
	nodeURL  string
	logLevel string
	at       string                        // a patient's pseudonym at this organisation (--at)
	atOrg    string                        // its id, once resolved
	opened   map[string]ed25519.PrivateKey // keys opened by signingKey, by reference
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
		return nil
	}
	tx, _ := newTxCmd(g)
	tx.Short += " (the identity and governance verbs are now 'primum identity …' and 'primum governance …'; these spellings stay for one release)"
	root.AddCommand(newDemoCmd(g), newInitCmd(g), newNodeCmd(g), newKeysCmd(g), tx, newQueryCmd(g), newTestnetCmd(g), newBenchCmd(g), newKVStoreNodeCmd(g), newVerifyCmd(g), newSupplyCmd(g), newRecordsCmd(g), newConsentCmd(g), newTrialsCmd(g), newFLCmd(g), newResearchCmd(g), newClaimsCmd(g), newTokensCmd(g))
	root.AddCommand(newNounCmds(g)...)
	autocli.AddCommands(g, root, renamed)
	autocli.AddLegacy(g, tx, renamed)
	return root
}

// client returns a client of --node, or of this home's API.
func (g *globals) client() *client.Client {
	return client.New(cmp.Or(g.nodeURL, node.LocalAPI(g.home)))
}

// patientOf is the patient id of --from, or the PATIENT argument.
func (g *globals) patientOf(cmd *cobra.Command, args []string, from string) (string, error) {
	if len(args) > 0 {
		return args[0], nil
	}
	if from == "" {
		return "", fmt.Errorf("give a PATIENT id or --from (the patient's key)")
	}
	key, err := g.fromKey(cmd.Context(), from)
	if err != nil {
		return "", err
	}
	return g.client().PatientID(cmd.Context(), key)
}

// readClient is a client that reads as the caller: signing each request
// with the key --from names (RFC 9421), or else sending PRIMUM_TOKEN (a
// token of a key the node holds).
func (g *globals) readClient(ctx context.Context, from string) (*client.Client, error) {
	c := g.client()
	if from != "" {
		key, err := g.fromKey(ctx, from)
		if err != nil {
			return nil, err
		}
		return c.WithKey(key), nil
	}
	if token := apiToken(""); token != "" {
		return c.WithToken(token), nil
	}
	return c, nil
}

// apiToken is a command's --token, or else PRIMUM_TOKEN, the token every
// command reads, or else the first of older variables a command read before.
func apiToken(flag string, older ...string) string {
	if flag != "" {
		return flag
	}
	for _, name := range append([]string{"PRIMUM_TOKEN"}, older...) {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}

func (g *globals) keys() keyring.Dir { return keyring.Dir(filepath.Join(g.home, "keys")) }

// fromKey opens --from's key, or with --at the patient's pseudonym at
// that organisation (identity.PairwiseKey).
func (g *globals) fromKey(ctx context.Context, from string) (ed25519.PrivateKey, error) {
	key, err := g.signingKey(from)
	if err != nil || g.at == "" {
		return key, err
	}
	if g.atOrg == "" { // resolved once a command
		var bad *client.NameError
		if g.atOrg, err = g.client().Custodian(ctx, g.at); errors.As(err, &bad) {
			return nil, fmt.Errorf("--at %w", err)
		} else if err != nil {
			return nil, err
		}
	}
	chainID, err := g.client().ChainID(ctx)
	if err != nil {
		return nil, err
	}
	return identity.PairwiseKey(key, chainID, g.atOrg), nil
}

// signingKey resolves --from: a key name in this home's keyring, or a path
// to a key file (such as a demo member's).
func (g *globals) signingKey(from string) (ed25519.PrivateKey, error) {
	if from == "" {
		return nil, fmt.Errorf("--from is required: a key name (see 'primum keys list') or a key file path")
	}
	// A key is opened once a command: its passphrase is asked once, however
	// many steps sign with it.
	if key, ok := g.opened[from]; ok {
		return key, nil
	}
	key, err := g.keys().Unlock(from)
	if err != nil {
		return nil, err
	}
	if g.opened == nil {
		g.opened = map[string]ed25519.PrivateKey{}
	}
	g.opened[from] = key
	return key, nil
}

// print writes v as JSON (--output json) or with text(w) otherwise.
func (g *globals) print(w io.Writer, v any, text func(io.Writer)) error {
	if g.output == "json" || text == nil {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}
