package store

import (
	"bytes"
	"errors"

	corestore "cosmossdk.io/core/store"
	"github.com/cockroachdb/pebble"
)

// prefixDB adapts a key range of one Pebble database to the IAVL database
// interface. The tree and the side index share the database, so one synced
// write covers both.
type prefixDB struct {
	db     *pebble.DB
	prefix []byte
}

func (p *prefixDB) key(k []byte) []byte {
	out := make([]byte, 0, len(p.prefix)+len(k))
	return append(append(out, p.prefix...), k...)
}

func (p *prefixDB) Get(k []byte) ([]byte, error) {
	v, closer, err := p.db.Get(p.key(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

func (p *prefixDB) Has(k []byte) (bool, error) {
	v, err := p.Get(k)
	return v != nil, err
}

func (p *prefixDB) Iterator(start, end []byte) (corestore.Iterator, error) {
	return p.newIter(start, end, false)
}

func (p *prefixDB) ReverseIterator(start, end []byte) (corestore.Iterator, error) {
	return p.newIter(start, end, true)
}

func (p *prefixDB) newIter(start, end []byte, reverse bool) (corestore.Iterator, error) {
	lo := p.key(start)
	var hi []byte
	if end != nil {
		hi = p.key(end)
	} else {
		hi = prefixEnd(p.prefix)
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	if reverse {
		it.Last()
	} else {
		it.First()
	}
	return &iterator{it: it, reverse: reverse, start: start, end: end, plen: len(p.prefix)}, nil
}

// prefixEnd is the first key after every key with the prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func (p *prefixDB) Close() error { return nil }

func (p *prefixDB) NewBatch() corestore.Batch { return &batch{p: p, b: p.db.NewBatch()} }

func (p *prefixDB) NewBatchWithSize(n int) corestore.Batch {
	return &batch{p: p, b: p.db.NewBatchWithSize(n)}
}

type iterator struct {
	it         *pebble.Iterator
	reverse    bool
	start, end []byte
	plen       int
}

func (i *iterator) Domain() ([]byte, []byte) { return i.start, i.end }
func (i *iterator) Valid() bool              { return i.it.Valid() }
func (i *iterator) Next() {
	if i.reverse {
		i.it.Prev()
	} else {
		i.it.Next()
	}
}
func (i *iterator) Key() []byte   { return bytes.Clone(i.it.Key()[i.plen:]) }
func (i *iterator) Value() []byte { return bytes.Clone(i.it.Value()) }
func (i *iterator) Error() error  { return i.it.Error() }
func (i *iterator) Close() error  { return i.it.Close() }

type batch struct {
	p *prefixDB
	b *pebble.Batch
}

func (b *batch) Set(k, v []byte) error     { return b.b.Set(b.p.key(k), v, nil) }
func (b *batch) Delete(k []byte) error     { return b.b.Delete(b.p.key(k), nil) }
func (b *batch) Write() error              { return b.b.Commit(pebble.NoSync) }
func (b *batch) WriteSync() error          { return b.b.Commit(pebble.Sync) }
func (b *batch) Close() error              { return b.b.Close() }
func (b *batch) GetByteSize() (int, error) { return b.b.Len(), nil }
