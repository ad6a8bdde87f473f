package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

// TestDecodeBodies holds the submission bodies' generated decoders to what
// encoding/json accepted before them: the same values, unknown fields and
// malformed or oversized bodies refused with problems that never repeat the
// body's text.
// plainBody is a body without a generated decoder (encoding/json's path).
type plainBody struct {
	A int `json:"a"`
}

func TestDecodeBodies(t *testing.T) {
	const secret = "SENTINEL"
	cases := []struct {
		name string
		body string
		into any
		want any
		err  *ledger.Error
	}{
		{"submission", `{"tx":"AAEC"}`, &wire.SubmitRequest{}, &wire.SubmitRequest{Tx: "AAEC"}, nil},
		{"submission with spaces and escapes", " {\n \"tx\" : \"A\\u0041\" } \n", &wire.SubmitRequest{}, &wire.SubmitRequest{Tx: "AA"}, nil},
		{"batch", `{"txs":["AAEC","BBEC"]}`, &wire.BatchRequest{}, &wire.BatchRequest{Txs: []string{"AAEC", "BBEC"}}, nil},
		{"empty batch", `{"txs":[]}`, &wire.BatchRequest{}, &wire.BatchRequest{Txs: []string{}}, nil},
		{"null batch", `{"txs":null}`, &wire.BatchRequest{}, &wire.BatchRequest{}, nil},
		{"empty object", `{}`, &wire.BatchRequest{}, &wire.BatchRequest{}, nil},
		{"unknown field", `{"tx":"AAEC","extra":1}`, &wire.SubmitRequest{}, nil, errBadRequest},
		{"unknown field in a batch", `{"tx":["` + secret + `"]}`, &wire.BatchRequest{}, nil, errBadRequest},
		{"truncated", `{"txs":["` + secret, &wire.BatchRequest{}, nil, errBadRequest},
		{"not an object", `"` + secret + `"`, &wire.SubmitRequest{}, nil, errBadRequest},
		{"wrong type", `{"tx":12}`, &wire.SubmitRequest{}, nil, errBadRequest},
		{"trailing data", `{"tx":"AAEC"} ` + secret, &wire.SubmitRequest{}, nil, errBadRequest},
		{"empty body", ``, &wire.SubmitRequest{}, nil, errBadRequest},
		{"plain decoder", `{"a":1} `, &plainBody{}, &plainBody{A: 1}, nil},
		{"plain decoder, trailing data", `{"a":1} ` + secret, &plainBody{}, nil, errBadRequest},
		{"plain decoder, a second value", `{"a":1}{"a":2}`, &plainBody{}, nil, errBadRequest},
		{"too large", `{"txs":["` + strings.Repeat("A", 200) + `"]}`, &wire.BatchRequest{}, nil, errBodyTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(c.body)), 100)
			err := decodeJSON(body, c.into)
			if c.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(c.into, c.want) {
					t.Fatalf("decoded %+v, want %+v", c.into, c.want)
				}
				return
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("got %v, want %s", err, c.err.Name)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the problem repeats the body: %v", err)
			}
		})
	}
}

// FuzzDecodeBodies feeds the submission bodies' decoders anything: they
// must not panic, must answer bad_request (or body_too_large) when they
// refuse, and what encoding/json accepts too must decode as it does.
func FuzzDecodeBodies(f *testing.F) {
	for _, s := range []string{`{"tx":"AAEC"}`, `{"txs":["AAEC","BBEC"]}`, `{"txs":[]}`, `{"txs":null}`, `{}`,
		`{"tx":"A\u0041"}`, `{"tx":12}`, `{"txs":["a"`, `{"tx":"a"} x`, `[]`, ``, `{"tx":"\xff"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, into := range []any{&wire.SubmitRequest{}, &wire.BatchRequest{}} {
			r := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(body)), wire.MaxBatchBytes)
			err := decodeJSON(r, into)
			if err != nil {
				if !errors.Is(err, errBadRequest) && !errors.Is(err, errBodyTooLarge) {
					t.Fatalf("refused with %v", err)
				}
				continue
			}
			// easyjson also takes raw control characters in strings, which
			// encoding/json refuses; no base64 transaction holds one.
			std := reflect.New(reflect.TypeOf(into).Elem()).Interface()
			if json.Unmarshal(body, std) == nil && utf8.Valid(body) && !reflect.DeepEqual(into, std) {
				t.Fatalf("%q decodes to %+v, encoding/json to %+v", body, into, std)
			}
		}
	})
}
