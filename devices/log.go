package devices

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/primum-health/primum/anchor"
)

// A device's log off-chain is a file of its readings, one a line as the
// hex of their canonical bytes, oldest first: what the device (or its
// gateway) appends to, and what its batches commit.

// ReadLog reads a log file: each line a reading's hex, each checked.
func ReadLog(r io.Reader) ([][]byte, error) {
	var out [][]byte
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		b, err := hex.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w: not hex", line, ErrBadReading)
		}
		if _, err := Decode(b); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(out) == MaxLog {
			return nil, fmt.Errorf("more than %d readings", MaxLog)
		}
		out = append(out, b)
	}
	return out, sc.Err()
}

// ReadLogFile reads the log at path.
func ReadLogFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadLog(f)
}

// Append adds readings to the log at path (made if absent), each checked.
func Append(path string, rs ...Reading) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := r.Check(); err != nil {
			f.Close()
			return err
		}
		if _, err := fmt.Fprintln(f, hex.EncodeToString(r.Encode())); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// Next is the batch that commits log after the device's latest batch
// (nil: none yet): its size, root and consistency proof. A batch adds at
// most MaxBatch readings: a longer log is committed a batch at a time
// (Batch.Size says how far this one goes).
func Next(log [][]byte, latest *Entry) (*Batch, error) {
	from := uint64(0)
	if latest != nil {
		from = latest.Size
	}
	if uint64(len(log)) > from+MaxBatch {
		log = log[:from+MaxBatch]
	}
	root, err := anchor.Root(log)
	if err != nil {
		return nil, err
	}
	b := &Batch{Size: uint64(len(log)), Root: hex.EncodeToString(root)}
	if latest == nil {
		return b, nil
	}
	if b.Size <= latest.Size {
		return nil, fmt.Errorf("the log holds %d readings, no more than the %d its latest batch committed: nothing to commit", b.Size, latest.Size)
	}
	if old, _ := anchor.Root(log[:latest.Size]); hex.EncodeToString(old) != latest.Root {
		return nil, fmt.Errorf("%w: this log's first %d readings are not those the device's batch %d committed", ErrInconsistent, latest.Size, latest.Seq)
	}
	p, err := anchor.ProveConsistency(log, latest.Size)
	if err != nil {
		return nil, err
	}
	for _, h := range p {
		b.Consistency = append(b.Consistency, hex.EncodeToString(h))
	}
	return b, nil
}
