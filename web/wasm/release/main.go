//go:build js && wasm

// Command release is the record-release opener the portal runs in the
// browser (GOOS=js GOARCH=wasm; web/static/release.wasm, built by
// 'go generate ./web'): the one-time HPKE key a requester asks a custodian
// for a record with is made and kept here, in the page, and the sealed
// record is opened and checked against its commitment here, with the same
// code (package sealed) the CLI and the Go client use. The node serving
// the page never sees the key or the record.
//
// It sets globalThis.primumRelease (each answer {value} or {error}):
//
//	newKey() → {id, public (base64), digest (hex)}
//	signBytes(requestJSON) → Uint8Array, the bytes an access request's
//	    Ed25519 signature covers (sealed.AccessRequest.SignBytes)
//	open(id, record, access, sealed (base64), commitment (hex)) → the
//	    record's content (a string), or throws; the key is forgotten
//	forget(id)
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"syscall/js"

	"github.com/primum-health/primum/release/sealed"
)

// keys are the one-time keys made and not yet used, by id.
var (
	keys   = map[int]*sealed.Key{}
	nextID = 1
)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("newKey", fn(func(args []js.Value) (any, error) {
		k, err := sealed.NewKey()
		if err != nil {
			return nil, err
		}
		id := nextID
		nextID++
		keys[id] = k
		out := js.Global().Get("Object").New()
		out.Set("id", id)
		out.Set("public", base64.StdEncoding.EncodeToString(k.Public()))
		out.Set("digest", sealed.Digest(k.Public()))
		return out, nil
	}))
	api.Set("signBytes", fn(func(args []js.Value) (any, error) {
		if len(args) != 1 {
			return nil, errors.New("signBytes(requestJSON)")
		}
		var r sealed.AccessRequest
		if err := json.Unmarshal([]byte(args[0].String()), &r); err != nil {
			return nil, err
		}
		b := r.SignBytes()
		u := js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(u, b)
		return u, nil
	}))
	api.Set("open", fn(func(args []js.Value) (any, error) {
		if len(args) != 5 {
			return nil, errors.New("open(id, record, access, sealed, commitment)")
		}
		id := args[0].Int()
		k, ok := keys[id]
		if !ok {
			return nil, errors.New("no such one-time key (each opens one release)")
		}
		delete(keys, id)
		sealed, err := base64.StdEncoding.DecodeString(args[3].String())
		if err != nil {
			return nil, errors.New("the sealed record is not base64")
		}
		p, err := k.Open(args[1].String(), args[2].String(), sealed)
		if err != nil {
			return nil, err
		}
		if err := p.Verify(args[4].String()); err != nil {
			return nil, err
		}
		return string(p.Content), nil
	}))
	api.Set("forget", fn(func(args []js.Value) (any, error) {
		if len(args) == 1 {
			delete(keys, args[0].Int())
		}
		return nil, nil
	}))
	js.Global().Set("primumRelease", api)
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("primum-release-ready"))
	select {}
}

// fn wraps a Go function for JavaScript. A panic in a callback would end
// the Go program, so an answer is {value} or {error: message}, which
// release.js turns into a value or a thrown Error.
func fn(f func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		out := js.Global().Get("Object").New()
		if v, err := f(args); err != nil {
			out.Set("error", err.Error())
		} else {
			out.Set("value", v)
		}
		return out
	})
}
