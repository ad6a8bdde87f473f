package main

import (
	"github.com/primum-health/primum/internal/autocli"
)

// renamed names the verbs whose name is not their type's: a hand-written
// verb's, or an older spelling the generated verb answers to as well
// (package autocli makes the others from the modules' declarations).
var renamed = autocli.Renamed{
	"records.share_case":               "share",
	"records.case_opinion":             "opinion",
	"records.set_retention":            "retention",
	"identity.set_practitioner_status": "practitioner-status",
	"governance.propose":               "propose-add-member",
}
