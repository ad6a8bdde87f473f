// Package modules is the one list of Primum's capability modules. The app
// routes transactions from it, the API mounts and documents its queries,
// the CLI gets its commands, and the permission, route, body and OpenAPI
// tests iterate it. A new module is its own package and one
// line here.
package modules

import (
	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/trials"
)

// All declares every module, in a fixed order (the order of transaction
// types in documentation and tests). Modules that need another are wired
// here, through the narrow interface they declare (consent names records).
func All() []ledger.Module {
	recs := records.New(records.StudyKind{Prefix: federated.StudyPrefix, Refuses: federated.Study},
		records.StudyKind{Prefix: research.StudyPrefix, Refuses: research.Study})
	return []ledger.Module{
		identity.Declare(),
		governance.New().Declare(),
		supply.Declare(),
		consent.New(recs).Declare(),
		recs.Declare(),
		trials.Declare(),
		claims.Declare(),
		capacity.Declare(),
		federated.Declare(),
		research.Declare(),
		devices.Declare(),
	}
}

// Txs lists every module's transaction types, in order.
func Txs() []ledger.Route {
	var out []ledger.Route
	for _, m := range All() {
		out = append(out, m.Txs...)
	}
	return out
}

// Queries lists every module's queries, in order.
func Queries() []ledger.Query {
	var out []ledger.Query
	for _, m := range All() {
		out = append(out, m.Queries...)
	}
	return out
}

// Keys lists every module's state key spaces, in order.
func Keys() []ledger.KeySpace {
	var out []ledger.KeySpace
	for _, m := range All() {
		out = append(out, m.Keys...)
	}
	return out
}
