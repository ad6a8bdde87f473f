package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mailru/easyjson"
)

// Reader reads committed or staged state.
type Reader interface {
	// Get returns nil when the key is absent.
	Get(key []byte) ([]byte, error)
	// Iterate calls fn for each key with the prefix, in key order, until fn returns false.
	Iterate(prefix []byte, fn func(key, value []byte) bool) error
}

// Writer is state a transaction may change.
type Writer interface {
	Reader
	// Set writes a value; it should not be empty (SetPresent).
	Set(key, value []byte)
	Delete(key []byte)
}

// SetPresent writes a key whose presence is the information (an index
// entry, a nonce seen): its value is one byte, never empty, because an
// ICS23 proof cannot carry an empty value — such a key could be proven
// neither present nor, as a neighbour, another key's absence.
func SetPresent(w Writer, key []byte) { w.Set(key, []byte{1}) }

// Overlay stages one transaction's writes over a Reader, so a rejected
// transaction changes nothing: the caller flushes it only on success.
// Its writes are kept in key order as far as reads need (OrderedKeys): a
// listing of a prefix costs what it returns, not every staged write, so a
// transaction that lists many containers' contents stays linear.
type Overlay struct {
	base   Reader
	writes map[string][]byte // nil value: deleted
	keys   OrderedKeys       // writes' keys
}

// NewOverlay stages writes over base.
func NewOverlay(base Reader) *Overlay {
	return &Overlay{base: base, writes: make(map[string][]byte)}
}

func (o *Overlay) Get(key []byte) ([]byte, error) {
	if v, ok := o.writes[string(key)]; ok {
		return v, nil
	}
	return o.base.Get(key)
}

func (o *Overlay) Set(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	o.stage(string(key), value)
}

func (o *Overlay) Delete(key []byte) { o.stage(string(key), nil) }

func (o *Overlay) stage(k string, value []byte) {
	if _, ok := o.writes[k]; !ok {
		o.keys.Add(k)
	}
	o.writes[k] = value
}

// Iterate merges staged writes into the base's order.
func (o *Overlay) Iterate(prefix []byte, fn func(key, value []byte) bool) error {
	return o.Scan(prefix, nil, false, fn)
}

// Scan is Iterate from start, in either direction (Seeker).
func (o *Overlay) Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) bool) error {
	return MergeScan(o.base, prefix, start, reverse, o.keys.WithPrefix(string(prefix)), func(k string) []byte { return o.writes[k] }, fn)
}

// Seeker is a Reader that can start a listing at a key, in either
// direction, without reading the keys before it: what a paged query needs
// so that its cost follows the page, not the position of the page.
type Seeker interface {
	// Scan calls fn for each key with the prefix from start (inclusive;
	// nil: from the first, or with reverse the last), ascending or with
	// reverse descending, until fn returns false.
	Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) bool) error
}

// Scan lists r's keys with the prefix from start, as Seeker.Scan does. A
// Reader that is not a Seeker is iterated from its first key (and, in
// reverse, held in memory): only the state store's readers serve queries.
func Scan(r Reader, prefix, start []byte, reverse bool, fn func(key, value []byte) bool) error {
	if sk, ok := r.(Seeker); ok {
		return sk.Scan(prefix, start, reverse, fn)
	}
	if !reverse {
		return r.Iterate(prefix, func(k, v []byte) bool {
			return (start != nil && bytes.Compare(k, start) < 0) || fn(k, v)
		})
	}
	var keys, values [][]byte
	err := r.Iterate(prefix, func(k, v []byte) bool {
		if start == nil || bytes.Compare(k, start) <= 0 {
			keys, values = append(keys, k), append(values, v)
		}
		return true
	})
	for i := len(keys) - 1; err == nil && i >= 0 && fn(keys[i], values[i]); i-- {
	}
	return err
}

// MergeIterate iterates base under prefix with a writer's own keys merged
// in: own are the written keys with the prefix, in order; value gives each
// one's value, nil if it was deleted. An own key hides the base's value of
// the same key. It stops when fn returns false.
func MergeIterate(base Reader, prefix []byte, own []string, value func(k string) []byte, fn func(key, value []byte) bool) error {
	return MergeScan(base, prefix, nil, false, own, value, fn)
}

// MergeScan is MergeIterate from start, in either direction (Seeker.Scan).
// own stays in ascending order whatever the direction.
func MergeScan(base Reader, prefix, start []byte, reverse bool, own []string, value func(k string) []byte, fn func(key, value []byte) bool) error {
	if start != nil {
		i, found := slices.BinarySearch(own, string(start))
		if reverse {
			if found {
				i++
			}
			own = own[:i]
		} else {
			own = own[i:]
		}
	}
	// at(j) is the j-th own key in the direction of the scan; ahead(a, b)
	// says a comes before b in it.
	at := func(j int) string { return own[j] }
	ahead := func(a, b string) bool { return a < b }
	if reverse {
		at = func(j int) string { return own[len(own)-1-j] }
		ahead = func(a, b string) bool { return a > b }
	}
	j, stopped := 0, false
	// emit passes the next own key on, unless it was deleted.
	emit := func() bool {
		k := at(j)
		j++
		if v := value(k); v != nil && !fn([]byte(k), v) {
			stopped = true
			return false
		}
		return true
	}
	err := Scan(base, prefix, start, reverse, func(k, v []byte) bool {
		for j < len(own) && ahead(at(j), string(k)) {
			if !emit() {
				return false
			}
		}
		if j < len(own) && at(j) == string(k) {
			return emit()
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	for err == nil && !stopped && j < len(own) {
		emit()
	}
	return err
}

// Flush applies the staged writes to w in key order (the app hash does not
// depend on the order, but nothing a transaction does may depend on map
// iteration).
func (o *Overlay) Flush(w Writer) {
	for _, k := range o.keys.Ordered() {
		if v := o.writes[k]; v == nil {
			w.Delete([]byte(k))
		} else {
			w.Set([]byte(k), v)
		}
	}
}

// Key is a state key: prefix, then parts joined by '/' (a module's keys,
// e.g. Key(prefixRecord, id), Key(prefixPair, patient, grantee)). Parts
// are not escaped: a module whose parts may hold '/' (GS1 serials: supply)
// escapes them with a builder of its own.
func Key(prefix []byte, parts ...string) []byte {
	k := append([]byte{}, prefix...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, '/')
		}
		k = append(k, p...)
	}
	return k
}

// Cents writes an amount in cents (the ledger's integers) as units with two
// decimals: 1234 → "12.34", -250 → "-2.50".
func Cents(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// GetJSON reads a JSON value; found is false when the key is absent.
func GetJSON(r Reader, key []byte, v any) (found bool, err error) {
	b, err := r.Get(key)
	if err != nil || b == nil {
		return false, err
	}
	return true, DecodeState(b, v)
}

// DecodeState decodes a state value. The state types read on the hot path
// carry generated, reflection-free decoders (easyjson), four times faster
// than encoding/json's; other types fall back to encoding/json. Values are
// written by SetJSON with encoding/json, byte for byte as before: easyjson's
// encoder escapes \b and \f differently, and the bytes are part of the app
// hash. The decoders agree with encoding/json on every value SetJSON writes
// (app's TestStateDecodersAgree).
//
// A value that does not decode is a bug, the same on every node (Pebble
// checksums what it reads, so a disk fault is a read error, not a changed
// value): it is ErrInternal, which rejects the transaction on every node
// alike, as a handler's panic does. An uncoded error would stop every
// validator on the same block, for good.
func DecodeState(b []byte, v any) error {
	var err error
	if u, ok := v.(easyjson.Unmarshaler); ok {
		err = easyjson.Unmarshal(b, u)
	} else {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return ErrInternal.Wrapf("a state value does not decode as %T: %v", v, err)
	}
	return nil
}

// SetJSON writes a JSON value. State types have no maps and no floats, so
// encoding/json's output is deterministic.
func SetJSON(w Writer, key []byte, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ledger: cannot encode state value: " + err.Error())
	}
	w.Set(key, b)
}

// ScanJSON decodes every value under prefix, in key order, up to limit
// values (0: all).
func ScanJSON[T any](r Reader, prefix []byte, limit int) ([]*T, error) {
	var out []*T
	var derr error
	err := r.Iterate(prefix, func(_, v []byte) bool {
		x := new(T)
		if derr = DecodeState(v, x); derr != nil {
			return false
		}
		out = append(out, x)
		return limit <= 0 || len(out) < limit
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// MaxPageScan bounds the entries one page of a listing examines: a filter
// few entries match answers a short page and where to go on from.
const MaxPageScan = 10_000

// ScanPage decodes the values under prefix from the page token after (the
// rest of a key after the prefix; "": from the first), keeping those keep
// accepts, up to limit, examining at most MaxPageScan. next is the token of
// the following page ("": none). Its cost follows the page, wherever the
// page starts.
func ScanPage[T any](r Reader, prefix []byte, after string, limit int, keep func(*T) bool) (page []*T, next string, err error) {
	return scanPage(r, prefix, after, false, limit, func(_ string, v []byte) (*T, error) {
		x := new(T)
		return x, DecodeState(v, x)
	}, keep)
}

// ScanPageNewest is ScanPage from the last key backwards: a log's newest
// entries first.
func ScanPageNewest[T any](r Reader, prefix []byte, after string, limit int) (page []*T, next string, err error) {
	return scanPage(r, prefix, after, true, limit, func(_ string, v []byte) (*T, error) {
		x := new(T)
		return x, DecodeState(v, x)
	}, nil)
}

// scanPage is ScanPage and IndexedPage: load makes an item of each entry
// (the rest of its key, its value), either way from after.
func scanPage[T any](r Reader, prefix []byte, after string, reverse bool, limit int, load func(rest string, v []byte) (*T, error), keep func(*T) bool) (page []*T, next string, err error) {
	var start []byte
	if after != "" {
		start = append(append([]byte{}, prefix...), after...)
	}
	scanned := 0
	var lerr error
	err = Scan(r, prefix, start, reverse, func(k, v []byte) bool {
		rest := string(k[len(prefix):])
		if scanned++; scanned > MaxPageScan || len(page) == limit {
			next = rest
			return false
		}
		var x *T
		if x, lerr = load(rest, v); lerr != nil {
			return false
		}
		if keep == nil || keep(x) {
			page = append(page, x)
		}
		return true
	})
	if err == nil {
		err = lerr
	}
	return page, next, err
}

// KeysPage lists the names under an index prefix (the rest of each key,
// whose presence is the information) from the page token after ("": from
// the first), up to limit. next is the token of the following page ("":
// none). Like ScanPage, it costs the page, wherever the page starts.
func KeysPage(r Reader, prefix []byte, after string, limit int) (names []string, next string, err error) {
	page, next, err := scanPage(r, prefix, after, false, limit, func(rest string, _ []byte) (*string, error) { return &rest, nil }, nil)
	for _, name := range page {
		names = append(names, *name)
	}
	return names, next, err
}

// Indexed loads, with get, the item named by the rest of each key under an
// index prefix, in key order.
func Indexed[T any](r Reader, prefix []byte, get func(Reader, string) (*T, error)) ([]*T, error) {
	var keys []string
	if err := r.Iterate(prefix, func(key, _ []byte) bool { keys = append(keys, string(key[len(prefix):])); return true }); err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		v, err := get(r, k)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// IndexedPage is Indexed a page at a time: from the page token after (the
// rest of an index key; "": from the first, or with reverse from the
// last), in key order or with reverse backwards, it loads with get the
// items keep accepts (nil: all), up to limit, examining at most
// MaxPageScan index entries. next is the token of the following page ("":
// none). Its cost follows the page, wherever the page starts.
func IndexedPage[T any](r Reader, prefix []byte, after string, reverse bool, limit int, get func(Reader, string) (*T, error), keep func(*T) bool) (page []*T, next string, err error) {
	return scanPage(r, prefix, after, reverse, limit, func(rest string, _ []byte) (*T, error) { return get(r, rest) }, keep)
}
