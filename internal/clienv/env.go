// Package clienv is what the primum command's verbs act through: the
// flags every command shares (its home, its node, its output, a
// patient's --at), the keys they open, and the signing, submitting and
// reading as the caller that follow from them. It implements the generated
// commands' autocli.Env, so that the command itself only parses flags and
// prints.
package clienv

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/node"
)

// Env is one command's run: the shared flags, as parsed, and what it has
// resolved from them so far (the --at organisation's id, the keys opened).
type Env struct {
	Home   string // the node home (--home)
	Node   string // the REST API to talk to (--node; default the home's)
	Output string // "text" or "json" (--output)
	At     string // a patient's pseudonym at this organisation (--at)

	atOrg  string                        // At's id, once resolved
	opened map[string]ed25519.PrivateKey // keys opened by SigningKey, by reference
}

var _ autocli.Env = (*Env)(nil)

// Client is a client of --node, or of this home's API.
func (e *Env) Client() *client.Client {
	return client.New(cmp.Or(e.Node, node.LocalAPI(e.Home)))
}

// Keys is this home's keyring.
func (e *Env) Keys() keyring.Dir { return keyring.Dir(filepath.Join(e.Home, "keys")) }

// Text is whether the output is text (autocli.Env).
func (e *Env) Text() bool { return e.Output == "text" }

// Names are the public identities' names for text output (autocli.Env);
// with -o json, none, and ids are shown as they are.
func (e *Env) Names(ctx context.Context) autocli.Names {
	if e.Output != "text" {
		return autocli.Names{}
	}
	return autocli.LoadNames(ctx, e.Client())
}

// Print writes v as JSON (--output json) or with text(w) otherwise.
func (e *Env) Print(w io.Writer, v any, text func(io.Writer)) error {
	if e.Output == "json" || text == nil {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}

// APIToken is a command's --token, or else PRIMUM_TOKEN, the token every
// command reads, or else the first of older variables a command read before.
func APIToken(flag string, older ...string) string {
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

// FromKey opens --from's key, or with --at the patient's pseudonym at
// that organisation (identity.PairwiseKey).
func (e *Env) FromKey(ctx context.Context, from string) (ed25519.PrivateKey, error) {
	key, err := e.SigningKey(from)
	if err != nil || e.At == "" {
		return key, err
	}
	if e.atOrg == "" { // resolved once a command
		var bad *client.NameError
		if e.atOrg, err = e.Client().Custodian(ctx, e.At); errors.As(err, &bad) {
			return nil, fmt.Errorf("--at %w", err)
		} else if err != nil {
			return nil, err
		}
	}
	chainID, err := e.Client().ChainID(ctx)
	if err != nil {
		return nil, err
	}
	return identity.PairwiseKey(key, chainID, e.atOrg), nil
}

// SigningKey resolves --from: a key name in this home's keyring, or a path
// to a key file (such as a demo member's).
func (e *Env) SigningKey(from string) (ed25519.PrivateKey, error) {
	if from == "" {
		return nil, fmt.Errorf("--from is required: a key name (see 'primum keys list') or a key file path")
	}
	// A key is opened once a command: its passphrase is asked once, however
	// many steps sign with it.
	if key, ok := e.opened[from]; ok {
		return key, nil
	}
	key, err := e.Keys().Unlock(from)
	if err != nil {
		return nil, err
	}
	if e.opened == nil {
		e.opened = map[string]ed25519.PrivateKey{}
	}
	e.opened[from] = key
	return key, nil
}

// ReadClient is a client that reads as the caller: signing each request
// with the key --from names (RFC 9421), or else sending PRIMUM_TOKEN (a
// token of a key the node holds).
func (e *Env) ReadClient(ctx context.Context, from string) (*client.Client, error) {
	c := e.Client()
	if from != "" {
		key, err := e.FromKey(ctx, from)
		if err != nil {
			return nil, err
		}
		return c.WithKey(key), nil
	}
	if token := APIToken(""); token != "" {
		return c.WithToken(token), nil
	}
	return c, nil
}

// PatientOf is the patient id of --from, or the PATIENT argument.
func (e *Env) PatientOf(ctx context.Context, args []string, from string) (string, error) {
	if len(args) > 0 {
		return args[0], nil
	}
	if from == "" {
		return "", fmt.Errorf("give a PATIENT id or --from (the patient's key)")
	}
	key, err := e.FromKey(ctx, from)
	if err != nil {
		return "", err
	}
	return e.Client().PatientID(ctx, key)
}
