package app

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/mailru/easyjson"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/supply"
)

// stateTypes are the values the modules write with ledger.SetJSON.
var stateTypes = []any{
	identity.Identity{}, identity.KeyEntry{},
	consent.Consent{},
	records.Record{}, records.Access{}, records.Case{}, records.Erasure{}, records.Retention{},
	governance.Proposal{}, governance.UpgradePlan{}, governance.UpgradeDone{},
	supply.Product{}, supply.Object{}, supply.Step{}, supply.Recall{}, supply.Event{}, supply.CompanyPrefix{},
}

// TestStateDecodersAgree checks the generated decoders against
// encoding/json on what SetJSON writes: random values with every field set
// (a field added to a type without regenerating its decoder fails here),
// the zero value, and strings that need escaping.
func TestStateDecodersAgree(t *testing.T) {
	tricky := []string{"", "\b\f\t\r\n\x00\x1f", `<a href="x">&amp;</a> \ "`, "\u2028\u2029", "\xff\xfe invalid", "é 患者 🩺"}
	for _, zero := range stateTypes {
		typ := reflect.TypeOf(zero)
		t.Run(typ.String(), func(t *testing.T) {
			if _, ok := reflect.New(typ).Interface().(easyjson.Unmarshaler); !ok {
				t.Fatalf("%s has no generated decoder: mark it //easyjson:json and run go generate ./...", typ)
			}
			rng := rand.New(rand.NewSource(1))
			values := []reflect.Value{reflect.New(typ).Elem()}
			for _, s := range tricky {
				values = append(values, withStrings(typ, s))
			}
			for range 300 {
				v, ok := quick.Value(typ, rng)
				if !ok {
					t.Fatalf("cannot generate a %s", typ)
				}
				values = append(values, v)
			}
			for i, v := range values {
				b, err := json.Marshal(v.Interface())
				if err != nil {
					t.Fatal(err)
				}
				want, got := reflect.New(typ), reflect.New(typ)
				if err := json.Unmarshal(b, want.Interface()); err != nil {
					t.Fatal(err)
				}
				if err := ledger.DecodeState(b, got.Interface()); err != nil {
					t.Fatalf("value %d: %v\n%s", i, err, b)
				}
				if !reflect.DeepEqual(want.Interface(), got.Interface()) {
					t.Fatalf("value %d decodes differently:\nencoding/json %+v\ngenerated     %+v\nfrom %s", i, want.Elem(), got.Elem(), b)
				}
			}
		})
	}
}

// withStrings is a value of typ whose string fields (and string slices'
// elements) are all s.
func withStrings(typ reflect.Type, s string) reflect.Value {
	v := reflect.New(typ).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.String:
			f.SetString(s)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.Append(reflect.MakeSlice(f.Type(), 0, 2), reflect.ValueOf(s).Convert(f.Type().Elem()), reflect.ValueOf(s+"2").Convert(f.Type().Elem())))
		case f.Kind() == reflect.Struct:
			f.Set(withStrings(f.Type(), s))
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
			f.Set(withStrings(f.Type().Elem(), s).Addr())
		}
	}
	return v
}

func BenchmarkDecodeIdentity(b *testing.B) {
	raw, _ := json.Marshal(identity.Identity{ID: "3f2a9c0d1e4b5a6978877665544332211a0b0c0d", Kind: ledger.KindPatient,
		Key: fmt.Sprintf("%064x", 7), Status: identity.StatusActive, Since: 12345, Nonce: 3})
	for _, c := range []struct {
		name   string
		decode func([]byte, any) error
	}{{"encoding-json", json.Unmarshal}, {"generated", ledger.DecodeState}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var ident identity.Identity
				if err := c.decode(raw, &ident); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
