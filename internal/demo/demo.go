// Package demo sets up and seeds the demo consortium that 'primum demo'
// runs: a one-validator home whose genesis admits the demo organisations
// (InitHome), then the stories (story.go) that put the demo's
// practitioners, patients, medicines and records on its ledger through the
// Go client, as any member would (Seed). The members and their keys are
// written to HOME/demo-members.json (WriteFile) so that scripts can act as
// any of them.
//
// Everything here is invented: the demo never holds a real person's data,
// and its keys are stored unencrypted under HOME/demo/keys (demo only).
package demo

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
)

// Member is one entry of demo-members.json (outside contract).
type Member struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	OrgType   string `json:"org_type,omitempty"`
	Address   string `json:"address"`
	PublicKey string `json:"public_key"`
	KeyFile   string `json:"key_file"`
	// APIToken lets a script capture EPCIS documents as this organisation
	// (Authorization: Bearer <token> on /epcis/capture).
	APIToken string `json:"api_token,omitempty"`
	// Organisation is the credentialing organisation of a practitioner.
	Organisation string `json:"organisation,omitempty"`
	Profession   string `json:"profession,omitempty"`
	Specialty    string `json:"specialty,omitempty"`
	Licence      string `json:"licence,omitempty"`
	// Pseudonyms are a patient's pairwise pseudonyms, by institution: the
	// ids their key derives for each (identity.PairwiseKey; sign as one
	// with --from KEY_FILE --at INSTITUTION).
	Pseudonyms map[string]string `json:"pseudonyms,omitempty"`
}

// File is demo-members.json (outside contract).
type File struct {
	ChainID string   `json:"chain_id"`
	API     string   `json:"api"`
	RPC     string   `json:"cometbft_rpc"`
	Note    string   `json:"note"`
	Members []Member `json:"members"`
	// Vouchers are unused registration vouchers St Luke's issued, for
	// trying the portal's "Create my key and enrol" (each works once).
	Vouchers []string `json:"vouchers"`
}

// Member is the demo member of that name (zero if there is none).
func (f *File) Member(name string) Member {
	for _, m := range f.Members {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}

// ChainID is the demo consortium's chain.
const ChainID = "primum-demo"

type organisation struct{ name, orgType string }

// organisations are the founding members, in the genesis; the first holds
// the validator.
var organisations = []organisation{
	{"St Luke's Hospital", "hospital"}, // the validator
	{"Riverside General Hospital", "hospital"},
	{"Central Pharmacy", "pharmacy"},
	{"Acme Pharma", "manufacturer"},
	{"MedLogistics", "distributor"},
	{"CareShield Insurance", "insurer"},
	{"National Medicines Agency", "regulator"},
}

// people are the demo members whose keys the demo node holds for the
// portals to sign with: the practitioners and the patients.
func people() []string {
	var names []string
	for _, p := range practitioners {
		names = append(names, p.name)
	}
	for i := 1; i <= patients; i++ {
		names = append(names, patientName(i))
	}
	return names
}

// IsHome reports whether home was set up by InitHome (it holds the demo
// members' keys), not a member's real node.
func IsHome(home string) bool {
	_, err := os.Stat(string(keyDir(home)))
	return err == nil
}

// FilePath is where the members file of the demo in home is.
func FilePath(home string) string { return filepath.Join(home, "demo-members.json") }

// WriteFile writes the members file of the demo in home.
func WriteFile(home string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(FilePath(home), append(b, '\n'), 0o600)
}

func keyDir(home string) keyring.Dir { return keyring.Dir(filepath.Join(home, "demo", "keys")) }

// key returns the named demo key and its file, creating it (unencrypted:
// demo only).
func key(home, name string) (ed25519.PrivateKey, string, error) {
	dir := keyDir(home)
	file := slug(name)
	path, _ := dir.Path(file)
	f, err := dir.Get(file)
	if errors.Is(err, keyring.ErrNotFound) {
		f, err = dir.Add(file, "", true)
	}
	if err != nil {
		return nil, "", err
	}
	k, err := f.Open("")
	return k, path, err
}

// slug is a key file's name for a member's: "St Luke's Hospital" →
// "st-luke-s-hospital".
func slug(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = append(out, r)
		case r >= 'A' && r <= 'Z':
			out = append(out, r+('a'-'A'))
		case len(out) > 0 && out[len(out)-1] != '-':
			out = append(out, '-')
		}
	}
	for len(out) > 0 && out[len(out)-1] == '-' {
		out = out[:len(out)-1]
	}
	return string(out)
}

// InitHome writes a single-validator home whose genesis admits the demo
// organisations, the first one holding the validator. The demo listens on
// the outside contract's default ports (node.DefaultPorts); tests pass free
// ones.
func InitHome(home string, ports node.Ports) error {
	valKey, _, err := node.InitHome(home, node.InitOptions{Moniker: "demo", Ports: ports})
	if err != nil {
		return err
	}
	// Patients register with a voucher from a member (no free Sybils):
	// the demo's are issued by St Luke's as it starts.
	gen := app.NewGenesis()
	settings, err := node.LoadSettings(home)
	if err != nil {
		return err
	}
	settings.APITokens = map[string]string{}
	settings.DemoTokens = true
	for i, o := range organisations {
		k, path, err := key(home, o.name)
		if err != nil {
			return err
		}
		settings.APITokens[node.NewToken()] = path
		m := governance.NewMember{Name: o.name, OrgType: o.orgType, Key: hex.EncodeToString(k.Public().(ed25519.PublicKey))}
		if i == 0 {
			m.ValidatorKey, m.Power = hex.EncodeToString(valKey), 10
		}
		gen.Members = append(gen.Members, m)
	}
	// The portals sign for practitioners and patients with the keys the
	// demo node holds for them; the research institute (voted in by a
	// story), the second insurer and the third hospital have their tokens
	// from the start too.
	for _, name := range append(people(), Institute, SecondInsurer, ThirdHospital) {
		_, path, err := key(home, name)
		if err != nil {
			return err
		}
		settings.APITokens[node.NewToken()] = path
	}
	if err := node.SaveSettings(home, settings); err != nil {
		return err
	}
	return node.WriteGenesis(home, ChainID, gen, time.Now())
}

// Seed runs every story, in order, against the demo in home through c (its
// node's API), and returns the members file (without the node's addresses,
// API and RPC, which are the caller's to fill in). Each story skips what is
// already on the ledger, so a demo interrupted while seeding resumes.
func Seed(ctx context.Context, home string, c *client.Client) (*File, error) {
	env, err := newEnv(ctx, home, c)
	if err != nil {
		return nil, err
	}
	for _, s := range Stories {
		if err := s.Run(ctx, env); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return env.File, nil
}

// newEnv is the stories' environment once the genesis is committed: the
// founding organisations are members already.
func newEnv(ctx context.Context, home string, c *client.Client) (*Env, error) {
	if err := c.WaitHeight(ctx, 1); err != nil {
		return nil, err
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	settings, err := node.LoadSettings(home)
	if err != nil {
		return nil, err
	}
	env := &Env{Client: c, Home: home, tokens: map[string]string{},
		File: &File{ChainID: chainID, Note: "Demo keys are stored UNENCRYPTED under demo/keys: for trying Primum only."}}
	for tok, path := range settings.APITokens {
		env.tokens[path] = tok
	}
	for _, o := range organisations {
		if _, err := env.Add(Member{Name: o.name, Kind: "organisation", OrgType: o.orgType}); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// Add puts m on the members file, its address, public key, key file and
// API token filled in from its demo key (made if it has none yet), and
// returns the key.
func (e *Env) Add(m Member) (ed25519.PrivateKey, error) {
	k, path, err := key(e.Home, m.Name)
	if err != nil {
		return nil, err
	}
	pub := k.Public().(ed25519.PublicKey)
	m.Address, m.PublicKey, m.KeyFile, m.APIToken = ledger.Address(pub), hex.EncodeToString(pub), path, e.tokens[path]
	e.File.Members = append(e.File.Members, m)
	return k, nil
}

// Replace keeps the demo in home aside, as HOME.old-TIME (an earlier
// Primum's, whose state this one cannot read), and sets up a new one in its
// place. It answers where the old one is.
func Replace(home string, ports node.Ports) (aside string, err error) {
	aside = fmt.Sprintf("%s.old-%s", home, time.Now().UTC().Format("20060102-150405"))
	if err := os.Rename(home, aside); err != nil {
		return "", fmt.Errorf("the demo in %s was made by an earlier Primum whose state this one cannot read, and it could not be moved aside: %w", home, err)
	}
	if err := InitHome(home, ports); err != nil {
		return "", fmt.Errorf("cannot set up the demo in %s: %w", home, err)
	}
	return aside, nil
}
