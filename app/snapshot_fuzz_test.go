package app

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzSnapshotChunk: a chunk from a peer decodes, or is refused, without a
// panic and within its bounds; what decodes is exactly the pairs it holds
// (encoded again, the same bytes).
func FuzzSnapshotChunk(f *testing.F) {
	enc, _ := zstd.NewWriter(nil)
	var raw []byte
	for _, kv := range [][2]string{{"gov/next", "\x00\x01"}, {"id/abc", `{"kind":"patient"}`}, {"meta/chain_id", "primum-1"}} {
		raw = binary.AppendUvarint(raw, uint64(len(kv[0])))
		raw = append(raw, kv[0]...)
		raw = binary.AppendUvarint(raw, uint64(len(kv[1])))
		raw = append(raw, kv[1]...)
	}
	f.Add(enc.EncodeAll(raw, nil))
	f.Add(enc.EncodeAll(raw[:len(raw)-3], nil))
	f.Add(enc.EncodeAll(nil, nil))
	f.Add([]byte("not zstd"))
	s := newSnapshots(SnapshotOptions{})
	f.Fuzz(func(t *testing.T, chunk []byte) {
		keys, values, err := s.decodeChunk(chunk)
		if err != nil {
			return
		}
		if len(keys) != len(values) || len(keys) > maxChunkPairs {
			t.Fatalf("%d keys, %d values", len(keys), len(values))
		}
		plain, err := s.dec.DecodeAll(chunk, nil)
		if err != nil {
			t.Fatal(err)
		}
		var again []byte
		for i := range keys {
			again = binary.AppendUvarint(again, uint64(len(keys[i])))
			again = append(again, keys[i]...)
			again = binary.AppendUvarint(again, uint64(len(values[i])))
			again = append(again, values[i]...)
		}
		if !bytes.Equal(again, plain) {
			t.Fatalf("the pairs read are not the chunk's")
		}
	})
}

// FuzzSnapshotMeta: a snapshot's metadata from a peer is read strictly and
// within its bounds, or refused, without a panic.
func FuzzSnapshotMeta(f *testing.F) {
	f.Add([]byte(`{"height":6,"app_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","block_time":"2026-01-01T00:00:06Z","keys":214,"bytes":1160,"chunk_hashes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`))
	f.Add([]byte(`{"height":-1}`))
	f.Add([]byte(`{"height":1,"extra":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMeta(b)
		if err != nil {
			return
		}
		if m.Height <= 0 || len(m.AppHash) != 32 || m.chunks() < 1 || m.chunks() > maxChunks || len(m.ChunkHashes)%32 != 0 {
			t.Fatalf("accepted %+v", m)
		}
		_ = m.chunkHash(m.chunks() - 1)
	})
}
