package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/store"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

// DemoMember is one entry of demo-members.json (outside contract).
type DemoMember struct {
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
}

// DemoFile is demo-members.json.
type DemoFile struct {
	ChainID string       `json:"chain_id"`
	API     string       `json:"api"`
	RPC     string       `json:"cometbft_rpc"`
	Note    string       `json:"note"`
	Members []DemoMember `json:"members"`
	// Vouchers are unused registration vouchers St Luke's issued, for
	// trying the portal's "Create my key and enrol" (each works once).
	Vouchers []string `json:"vouchers"`
}

type demoOrg struct{ name, orgType string }

var demoOrgs = []demoOrg{
	{"St Luke's Hospital", "hospital"}, // the validator
	{"Riverside General Hospital", "hospital"},
	{"Central Pharmacy", "pharmacy"},
	{"Acme Pharma", "manufacturer"},
	{"MedLogistics", "distributor"},
	{"CareShield Insurance", "insurer"},
	{"National Medicines Agency", "regulator"},
}

type demoPractitioner struct{ name, org, licence, profession, specialty string }

var demoPractitioners = []demoPractitioner{
	{"Dr Amara Okafor", "St Luke's Hospital", "MD-100231", "doctor", "cardiology"},
	{"Nurse Jonas Berg", "St Luke's Hospital", "RN-554120", "nurse", "intensive care"},
	{"Dr Lena Fischer", "Riverside General Hospital", "MD-208877", "doctor", "oncology"},
	{"Pharmacist Ravi Patel", "Central Pharmacy", "PH-31337", "pharmacist", "community pharmacy"},
}

const demoChainID = "primum-demo"

const demoPatients = 3

func newDemoCmd(g *globals) *cobra.Command {
	var apiAddr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a one-validator consortium with demo members",
		Long: `Runs a one-validator Primum consortium in --home with demo members: two hospitals, a
pharmacy, a manufacturer, a distributor, an insurer, a regulator, credentialed
practitioners and three pseudonymous patients. It serves the REST API and web interface
on 127.0.0.1:8080 and CometBFT's RPC on 127.0.0.1:26657, and writes
HOME/demo-members.json so scripts can act as any member. Running it again resumes the
same chain. Ctrl-C stops it cleanly.`,
		Example: `  primum demo
  primum demo --home /tmp/primum-demo
  primum query identities --kind practitioner --home /tmp/primum-demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, apiAddr)
		},
	}
	cmd.Flags().StringVar(&apiAddr, "api-addr", "", "REST API listen address (default 127.0.0.1:8080)")
	return cmd
}

// isDemoHome reports whether home was set up by primum demo (it holds the
// demo members' keys), not a member's real node.
func isDemoHome(home string) bool {
	_, err := os.Stat(string(demoKeyDir(home)))
	return err == nil
}

func demoKeyDir(home string) keyring.Dir { return keyring.Dir(filepath.Join(home, "demo", "keys")) }

// demoKey returns the named demo key, creating it (unencrypted: demo only).
func demoKey(home, name string) (ed25519.PrivateKey, string, error) {
	dir := demoKeyDir(home)
	file := slug(name)
	path, _ := dir.Path(file)
	f, err := dir.Get(file)
	if errors.Is(err, keyring.ErrNotFound) {
		f, err = dir.Add(file, "", true)
	}
	if err != nil {
		return nil, "", err
	}
	key, err := f.Open("")
	return key, path, err
}

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

func runDemo(ctx context.Context, g *globals, apiAddr string) error {
	home := g.home
	started := fmt.Sprintf("Resuming the demo consortium in %s\n", home)
	if !node.Initialized(home) {
		if err := initDemoHome(home, node.DefaultPorts); err != nil {
			return fmt.Errorf("cannot set up the demo in %s: %w", home, err)
		}
		started = fmt.Sprintf("Created a new demo consortium in %s\n", home)
	}
	tuneGC()
	opts := node.Options{Home: home, APIAddr: apiAddr, CometMetrics: true, Logger: slog.Default()}
	n, err := node.Start(ctx, opts)
	if errors.Is(err, store.ErrOldFormat) && isDemoHome(home) {
		// A demo an earlier Primum made, in a state format this one cannot
		// read or replay: keep it aside and start a new one.
		aside := fmt.Sprintf("%s.old-%s", home, time.Now().UTC().Format("20060102-150405"))
		if err := os.Rename(home, aside); err != nil {
			return fmt.Errorf("the demo in %s was made by an earlier Primum whose state this one cannot read, and it could not be moved aside: %w", home, err)
		}
		if err := initDemoHome(home, node.DefaultPorts); err != nil {
			return fmt.Errorf("cannot set up the demo in %s: %w", home, err)
		}
		started = fmt.Sprintf("The demo in %s was made by an earlier Primum whose state this one cannot read: moved it to %s and created a new demo consortium\n", home, aside)
		n, err = node.Start(ctx, opts)
	}
	if err != nil {
		return err
	}
	defer n.Stop()
	fmt.Print(started)
	c := client.New(n.APIURL())
	setupCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	file, err := populateDemo(setupCtx, home, c)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot create demo members: %w", err)
	}
	file.API, file.RPC = n.APIURL(), n.RPCAddr()
	if err := writeDemoFile(home, file); err != nil {
		return err
	}
	fmt.Printf(`
Primum demo is running (chain %s).
  Web interface   %s/
  REST API        %s/api/v1  (OpenAPI: %s/api/v1/openapi.json)
  CometBFT RPC    %s
  Metrics         %s/metrics
  Demo members    %s
  Data            %s

Try:  primum query identities --home %s
      primum supply prefix %s --home %s   (Acme Pharma's GS1 prefix: only it registers GTINs under it)
Press Ctrl-C to stop; run "primum demo" again to resume the same chain.
`, file.ChainID, n.APIURL(), n.APIURL(), n.APIURL(), n.RPCAddr(), n.APIURL(),
		filepath.Join(home, "demo-members.json"), home, home, demoPrefix, home)
	<-ctx.Done()
	fmt.Println("\nStopping…")
	return nil
}

// initDemoHome writes a single-validator home whose genesis admits the demo
// organisations, the first one holding the validator. The demo listens on
// the outside contract's default ports; tests pass free ones.
func initDemoHome(home string, ports node.Ports) error {
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
	for i, o := range demoOrgs {
		key, path, err := demoKey(home, o.name)
		if err != nil {
			return err
		}
		settings.APITokens[node.NewToken()] = path
		m := governance.NewMember{Name: o.name, OrgType: o.orgType, Key: hex.EncodeToString(key.Public().(ed25519.PublicKey))}
		if i == 0 {
			m.ValidatorKey, m.Power = hex.EncodeToString(valKey), 10
		}
		gen.Members = append(gen.Members, m)
	}
	// The portals sign for practitioners and patients with the keys the
	// demo node holds for them.
	people := []string{}
	for _, p := range demoPractitioners {
		people = append(people, p.name)
	}
	for i := 1; i <= demoPatients; i++ {
		people = append(people, fmt.Sprintf("Patient %d", i))
	}
	for _, name := range people {
		_, path, err := demoKey(home, name)
		if err != nil {
			return err
		}
		settings.APITokens[node.NewToken()] = path
	}
	if err := node.SaveSettings(home, settings); err != nil {
		return err
	}
	return node.WriteGenesis(home, demoChainID, gen, time.Now())
}

// populateDemo credentials the demo practitioners and registers the demo
// patients, skipping any already on the ledger.
func populateDemo(ctx context.Context, home string, c *client.Client) (*DemoFile, error) {
	// The founding members exist once the first block is committed.
	if err := c.WaitHeight(ctx, 1); err != nil {
		return nil, err
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	file := &DemoFile{ChainID: chainID, Note: "Demo keys are stored UNENCRYPTED under demo/keys: for trying Primum only."}
	settings, err := node.LoadSettings(home)
	if err != nil {
		return nil, err
	}
	tokenOf := map[string]string{}
	for tok, path := range settings.APITokens {
		tokenOf[path] = tok
	}
	orgKeys := map[string]ed25519.PrivateKey{}
	orgIDs := map[string]string{}
	for _, o := range demoOrgs {
		key, path, err := demoKey(home, o.name)
		if err != nil {
			return nil, err
		}
		pub := key.Public().(ed25519.PublicKey)
		orgKeys[o.name], orgIDs[o.name] = key, ledger.Address(pub)
		file.Members = append(file.Members, DemoMember{Name: o.name, Kind: "organisation", OrgType: o.orgType,
			Address: ledger.Address(pub), PublicKey: hex.EncodeToString(pub), KeyFile: path, APIToken: tokenOf[path]})
	}
	validUntil := time.Now().AddDate(3, 0, 0).UTC().Truncate(24 * time.Hour).Format(time.RFC3339)
	for _, p := range demoPractitioners {
		key, path, err := demoKey(home, p.name)
		if err != nil {
			return nil, err
		}
		pub := key.Public().(ed25519.PublicKey)
		if err := ensureRegistered(ctx, c, pub, func() error {
			_, err := c.RegisterPractitioner(ctx, orgKeys[p.org], key, identity.RegisterPractitioner{
				Licence: p.licence, Profession: p.profession, Specialty: p.specialty, ValidUntil: validUntil}, true)
			return err
		}); err != nil {
			return nil, fmt.Errorf("practitioner %s: %w", p.name, err)
		}
		file.Members = append(file.Members, DemoMember{Name: p.name, Kind: "practitioner", Address: ledger.Address(pub),
			PublicKey: hex.EncodeToString(pub), KeyFile: path, Organisation: orgIDs[p.org], Profession: p.profession,
			Specialty: p.specialty, Licence: p.licence, APIToken: tokenOf[path]})
	}
	if err := populateDemoSupply(ctx, c, orgKeys, orgIDs); err != nil {
		return nil, fmt.Errorf("supply chain: %w", err)
	}
	codes, unused, err := ensureDemoVouchers(ctx, c, orgKeys["St Luke's Hospital"])
	if err != nil {
		return nil, fmt.Errorf("vouchers: %w", err)
	}
	file.Vouchers = unused
	var patientIDs []string
	for i := 1; i <= demoPatients; i++ {
		name := fmt.Sprintf("Patient %d", i)
		key, path, err := demoKey(home, name)
		if err != nil {
			return nil, err
		}
		pub := key.Public().(ed25519.PublicKey)
		if err := ensureRegistered(ctx, c, pub, func() error {
			_, err := c.Send(ctx, key, identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: codes[i-1]}, true)
			return err
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		file.Members = append(file.Members, DemoMember{Name: name, Kind: "patient", Address: ledger.Address(pub),
			PublicKey: hex.EncodeToString(pub), KeyFile: path, APIToken: tokenOf[path]})
		patientIDs = append(patientIDs, ledger.Address(pub))
	}
	if err := populateDemoRecords(ctx, home, c, file, patientIDs[0]); err != nil {
		return nil, fmt.Errorf("health records: %w", err)
	}
	return file, nil
}

func ensureRegistered(ctx context.Context, c *client.Client, pub ed25519.PublicKey, register func() error) error {
	info, err := c.Key(ctx, pub)
	if err != nil {
		return err
	}
	if info.Identity != nil {
		return nil
	}
	return register()
}

// demoVouchers is how many vouchers St Luke's issues in the demo: one for
// each demo patient, and spares for the tour (demo-members.json).
const demoVouchers = demoPatients + 5

// ensureDemoVouchers issues St Luke's demo vouchers not yet on the ledger
// and returns their codes, the demo patients' first, and the spares not
// used yet. The codes follow from St Luke's key, so an interrupted demo
// issues the same ones again (an issued one, used or not, is never issued
// twice).
func ensureDemoVouchers(ctx context.Context, c *client.Client, hospital ed25519.PrivateKey) (codes, unused []string, err error) {
	var missing []string
	for i := range demoVouchers {
		sum := sha256.Sum256(append(append([]byte("primum demo voucher "), hospital.Seed()...), byte(i)))
		code := identity.VoucherCode(sum[:])
		codes = append(codes, code)
		var p wire.ProofResponse
		if err := c.Get(ctx, "/api/v1/proof?key="+url.QueryEscape("vch/"+identity.VoucherHash(code)), &p); err != nil {
			return nil, nil, err
		}
		var v identity.Voucher
		if raw, _ := base64.StdEncoding.DecodeString(p.Value); p.Exists {
			_ = json.Unmarshal(raw, &v)
		} else {
			missing = append(missing, identity.VoucherHash(code))
		}
		if i >= demoPatients && v.Used == 0 {
			unused = append(unused, code)
		}
	}
	if len(missing) > 0 {
		if _, err := c.Send(ctx, hospital, identity.TypeIssueVouchers, identity.IssueVouchers{Vouchers: missing}, true); err != nil {
			return nil, nil, err
		}
	}
	return codes, unused, nil
}

func writeDemoFile(home string, f *DemoFile) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, "demo-members.json"), append(b, '\n'), 0o600)
}

// Demo medicine: the manufacturer's GS1 company prefix, a product, a case of packs shipped to Central Pharmacy
// through the distributor, one pack dispensed, a recalled lot, and an
// oxygen cylinder. Each step says how to see on the ledger that it was
// committed, so a demo interrupted half-way resumes after its last committed
// step instead of leaving the chain half made.
const demoGTIN = "09506000134352"

// demoPrefix is Acme Pharma's GS1 company prefix, which demoGTIN is under:
// held on the ledger, no other member may register a product under it.
const demoPrefix = "9506000"

func populateDemoSupply(ctx context.Context, c *client.Client, keys map[string]ed25519.PrivateKey, ids map[string]string) error {
	maker, dist, pharm, reg := keys["Acme Pharma"], keys["MedLogistics"], keys["Central Pharmacy"], keys["National Medicines Agency"]
	pack := func(serial string) string { return "(01)" + demoGTIN + "(21)" + serial }
	const sscc, cylinder = "(00)106141412345678908", "(8003)00614141123452400"
	// did reports whether the object's trail holds action at least times times.
	did := func(code, action string, times int) func() (bool, error) {
		return func() (bool, error) {
			var o struct {
				Trail []supply.Step `json:"trail"`
			}
			if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape(code), &o); err != nil {
				return false, absent(err)
			}
			n := 0
			for _, st := range o.Trail {
				if st.Action == action {
					n++
				}
			}
			return n >= times, nil
		}
	}
	prefixHeld := func() (bool, error) {
		var p supply.CompanyPrefix
		if err := c.Get(ctx, "/api/v1/supply/prefixes/"+demoPrefix, &p); err != nil {
			return false, absent(err)
		}
		return true, nil
	}
	productExists := func() (bool, error) {
		var p supply.Product
		if err := c.Get(ctx, "/api/v1/supply/products/"+demoGTIN, &p); err != nil {
			return false, absent(err)
		}
		return true, nil
	}
	recalled := func() (bool, error) {
		var list []supply.Recall
		if err := c.Get(ctx, "/api/v1/supply/recalls", &list); err != nil {
			return false, err
		}
		return slices.ContainsFunc(list, func(r supply.Recall) bool { return r.GTIN == demoGTIN && r.Lot == "AMX2026B" }), nil
	}
	steps := []struct {
		key  ed25519.PrivateKey
		typ  string
		body any
		done func() (bool, error)
	}{
		{maker, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: demoPrefix}, prefixHeld},
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: demoGTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}, productExists},
		{maker, supply.TypeCommission, supply.Commission{GTIN: demoGTIN, Lot: "AMX2026A", Expiry: "2028-06-30", Serials: []string{"DEMO001", "DEMO002", "DEMO003", "DEMO004"}}, did(pack("DEMO001"), "commission", 1)},
		{maker, supply.TypeCommission, supply.Commission{GTIN: demoGTIN, Lot: "AMX2026B", Expiry: "2028-09-30", Serials: []string{"DEMO101"}}, did(pack("DEMO101"), "commission", 1)},
		{maker, supply.TypePack, supply.Pack{Parent: sscc, Children: []string{pack("DEMO001"), pack("DEMO002"), pack("DEMO003"), pack("DEMO004")}}, did(pack("DEMO001"), "pack", 1)},
		{maker, supply.TypeShip, supply.Ship{Codes: []string{sscc, pack("DEMO101")}, To: ids["MedLogistics"]}, did(pack("DEMO101"), "ship", 1)},
		{dist, supply.TypeReceive, supply.Receive{Codes: []string{sscc, pack("DEMO101")}}, did(pack("DEMO101"), "receive", 1)},
		{dist, supply.TypeShip, supply.Ship{Codes: []string{sscc, pack("DEMO101")}, To: ids["Central Pharmacy"]}, did(pack("DEMO101"), "ship", 2)},
		{pharm, supply.TypeReceive, supply.Receive{Codes: []string{sscc, pack("DEMO101")}}, did(pack("DEMO101"), "receive", 2)},
		{pharm, supply.TypeUnpack, supply.Pack{Parent: sscc}, did(pack("DEMO001"), "unpack", 1)},
		{pharm, supply.TypeDispense, supply.Dispense{Code: pack("DEMO001")}, did(pack("DEMO001"), "dispense", 1)},
		{reg, supply.TypeRecall, supply.RecallLot{GTIN: demoGTIN, Lot: "AMX2026B", Reason: "out-of-specification dissolution results"}, recalled},
		{dist, supply.TypeRegisterAsset, supply.RegisterAsset{Code: cylinder, AssetType: "oxygen-cylinder-10l", InspectionDue: "2027-03-01"}, did(cylinder, "register_asset", 1)},
		{dist, supply.TypeAssetEvent, supply.AssetEvent{Code: cylinder, Action: "fill"}, did(cylinder, "asset_fill", 1)},
	}
	// The steps were sent one at a time, each waiting for its commit: the
	// last one on the ledger marks where to go on.
	next := 0
	for i := len(steps) - 1; i >= 0; i-- {
		done, err := steps[i].done()
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", i, steps[i].typ, err)
		}
		if done {
			next = i + 1
			break
		}
	}
	for i, st := range steps[next:] {
		if _, err := c.Send(ctx, st.key, st.typ, st.body, true); err != nil {
			return fmt.Errorf("step %d (%s): %w", next+i, st.typ, err)
		}
	}
	return nil
}

// absent turns the node's "not found" answer into no error: the thing is
// simply not on the ledger yet.
func absent(err error) error {
	var p *client.Problem
	if errors.As(err, &p) && p.Status == http.StatusNotFound {
		return nil
	}
	return err
}
