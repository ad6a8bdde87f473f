package store

import (
	"errors"

	"github.com/cockroachdb/pebble"
)

// prefixDB is a key range of the state's Pebble database: the side index
// shares the database, so one synced write covers it and the state.
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
