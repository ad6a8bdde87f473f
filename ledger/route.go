package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Route declares a transaction type, who may send it, and its handler. The
// permission check happens once, in the app, from Allow: a handler only adds
// checks that depend on the body (e.g. "your own practitioner").
type Route struct {
	Type string
	// Allow lists roles: "organisation" (any type), "organisation:<type>",
	// "practitioner", "patient", "device", "unregistered".
	Allow []string
	Doc   string
	// Example is an example body, for documentation.
	Example string
	// Args names the body's fields the command line takes as positional
	// arguments, in order ("codes..." takes the rest: a list, or words
	// joined by spaces for a text field); its other fields are flags
	// (--event-id), each documented by the field's doc tag.
	Args []string
	// Verb, if set, is the command-line verb when it is not the type's;
	// two words put it in a group under the module's noun ("policy
	// publish": primum claims policy publish), as Query.Name does.
	Verb string
	// Orgs names the body's top-level fields (a string, or a list of
	// them) that hold organisations' ids: the command line takes an
	// organisation's name there too.
	Orgs []string
	// Handle runs the decoded body (see Handle): CheckTx decodes every
	// body strictly, so a malformed body (and whatever a client put in an
	// unknown field) is refused before it can reach a block.
	Handle Handler
	// Reads, if set, names state keys the handler will read, from the body
	// alone, that are likely on disk rather than in memory (a pack's
	// record): a block's execution reads them ahead on another core. A
	// hint: a missing or wrong key costs only time. Declare it with
	// ReadsOf.
	Reads func(body any) [][]byte
	// Admit, if set, checks the decoded body against committed state in
	// CheckTx too (a few reads at most), so that a transaction that cannot
	// succeed never reaches the mempool: a registration without the
	// voucher the consortium asks for, a patient revoking a consent that is
	// another's. The handler checks again in its block, against the state
	// it sees then. ProcessProposal applies it too: a proposal carrying a
	// transaction it refuses is not an honest proposer's.
	Admit func(r Reader, signer Signer, body any) error
	// Claim, if set, names a resource only one transaction waiting in the
	// mempool may use (a voucher's hash): CheckTx refuses a second one
	// (ErrClaimed) until the first has left the mempool, so copies cannot
	// pile up there to fail in a block, each at a cost.
	Claim func(body any) string
	// Holder, if set, says the body brings a new key whose holder must
	// agree to it (a practitioner's, a device's, a rotation's): the command
	// line opens that key and fills in its public key and its proof.
	Holder *KeyHolder
}

// KeyHolder declares a body's new key and its holder's proof of it.
type KeyHolder struct {
	Key, Proof string // the body's JSON fields
	// Flag is the command-line flag that opens the key: a name in
	// HOME/keys or a key file.
	Flag string
	// As is the registration 'primum keys prove-possession --as' names,
	// for a holder whose key is on another machine ("": the key must be
	// opened here).
	As string
	// Prove is the holder's proof for the chain and the id of the identity
	// that signs the transaction.
	Prove func(holder ed25519.PrivateKey, chainID, signer string) string
}

// Allows reports whether the signer holds one of the route's roles.
func (r Route) Allows(s Signer) bool {
	for _, role := range r.Allow {
		switch {
		case role == string(s.Kind):
			return true
		case s.Kind == KindOrganisation && role == "organisation:"+s.OrgType:
			return true
		}
	}
	return false
}

// DecodeBody decodes a JSON body strictly: unknown fields and trailing data
// are errors, so a typo is reported instead of silently ignored.
func DecodeBody(body []byte, v any) error {
	// An empty object (every patient's registration) into a struct leaves
	// the struct as it was: the decoder would only allocate to say so.
	if string(body) == "{}" {
		if p := reflect.ValueOf(v); p.Kind() == reflect.Pointer && !p.IsNil() && p.Elem().Kind() == reflect.Struct {
			return nil
		}
	}
	return decodeStrictly(body, v)
}

// DecodeSection decodes a genesis section as strictly as DecodeBody does a
// body (ledger.Genesis), with an error that speaks of a setting, not of a
// transaction: a person reads it in a node that would not start.
func DecodeSection(raw []byte, v any) error {
	if trailing, err := strictJSON(raw, v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	} else if trailing {
		return fmt.Errorf("trailing data after the section")
	}
	return nil
}

// strictJSON decodes one JSON value into v, refusing unknown fields, and
// says whether anything follows it.
func strictJSON(raw []byte, v any) (trailing bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false, err
	}
	return dec.More(), nil
}

func decodeStrictly(body []byte, v any) error {
	if trailing, err := strictJSON(body, v); err != nil {
		return ErrInvalidBody.Wrapf("%v", err)
	} else if trailing {
		return ErrInvalidBody.Wrapf("trailing data after the body")
	}
	return nil
}
