package ledger

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Handler executes one transaction body. It returns a coded error to reject
// the transaction; its writes are then discarded.
type Handler func(ctx *Context, body []byte) error

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
	Handle  Handler
	// Body returns a new value of the body's type. CheckTx decodes every body
	// into it strictly, so a malformed body (and whatever a client put in an
	// unknown field) is refused before it can reach a block.
	Body func() any
	// Reads, if set, names state keys the handler will read, from the body
	// alone, that are likely on disk rather than in memory (a pack's
	// record): a block's execution reads them ahead on another core. A
	// hint: a missing or wrong key costs only time.
	Reads func(body []byte) [][]byte
}

// BodyOf declares a route's body type.
func BodyOf[T any]() func() any { return func() any { return new(T) } }

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

func decodeStrictly(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ErrInvalidBody.Wrapf("%v", err)
	}
	if dec.More() {
		return ErrInvalidBody.Wrapf("trailing data after the body")
	}
	return nil
}
