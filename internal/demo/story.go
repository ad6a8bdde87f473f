package demo

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"

	"github.com/primum-health/primum/client"
)

// A Story puts one capability's part of the demo on the ledger: who does
// what, signed by the demo members' keys and sent through the Go client.
//
// Run must resume: it is run on every start of the demo, including after
// one interrupted half-way through it, so it first reads what is already
// on the ledger and sends only what is missing, and sends nothing on a
// demo it seeded before (TestDemoSeedingResumes checks this of every story).
// Something a member undid during the tour (a consent revoked) stays
// undone.
type Story struct {
	Name string
	Run  func(ctx context.Context, env *Env) error
}

// Stories are run in this order, each after the ones before it are on the
// ledger. A capability adds its story here, in a file of its own; a new one
// goes last, after the ones whose members and objects it uses.
var Stories = []Story{
	{"practitioners", credentialPractitioners},
	{"supply chain", supplyChain},
	{"patients", registerPatients},
	{"health records", healthRecords},
	{"pseudonyms", pairwisePseudonyms},
	{"clinical trials", clinicalTrials},
	{"insurance claims", insuranceClaims},
	{"equipment and capacity", equipmentAndCapacity},
	{"federated learning", federatedLearning},
	{"research aggregates", researchAggregates},
	{"cold chain", coldChain},
	{"devices", deviceReadings},
}

// Env is what a story works with: the demo node's client, the demo's home
// and its members file so far (the founding organisations first, then the
// members the stories before added).
type Env struct {
	Client *client.Client
	Home   string
	File   *File
	tokens map[string]string // key file → API token
}

// Key is the demo key of the member called name (made if it has none yet).
func (e *Env) Key(name string) (ed25519.PrivateKey, error) {
	k, _, err := key(e.Home, name)
	return k, err
}

// ID is the ledger id (address) of the demo member called name, or "".
func (e *Env) ID(name string) string { return e.File.Member(name).Address }

// registered reports whether key has an identity on the ledger already
// (asked as its holder: a patient's key is described to no one else).
func (e *Env) registered(ctx context.Context, key ed25519.PrivateKey) (bool, error) {
	info, err := e.Client.Self(ctx, key)
	if err != nil {
		return false, err
	}
	return info.Identity != nil, nil
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
