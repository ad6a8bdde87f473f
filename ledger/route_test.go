package ledger

import (
	"errors"
	"reflect"
	"testing"
)

// DecodeBody's shortcut for an empty object answers as the decoder
// (decodeStrictly) would, whatever the target.
func TestDecodeBodyEmptyObject(t *testing.T) {
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	var nilBody *body
	for _, raw := range []string{"{}", "{ }", "{}x", "{}{}", `{"name":"a"}`, `{"other":1}`, "", "[]", "null"} {
		for _, target := range []func() any{
			func() any { return &struct{}{} },
			func() any { return &body{Name: "kept", Count: 3} },
			func() any { return &map[string]int{} },
			func() any { return new(map[string]int) },
			func() any { return nilBody },
			func() any { return body{} },
		} {
			got, want := target(), target()
			err := DecodeBody([]byte(raw), got)
			werr := decodeStrictly([]byte(raw), want)
			if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
				t.Errorf("%q into %T: %v, %#v; the decoder: %v, %#v", raw, want, err, got, werr, want)
			}
			if err != nil && !errors.Is(err, ErrInvalidBody) {
				t.Errorf("%q into %T: %v, want invalid_body", raw, want, err)
			}
		}
	}
}
