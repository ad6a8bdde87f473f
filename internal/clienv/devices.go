package clienv

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// NextBatch is the batch that commits the device's log in the file
// logPath after its latest batch on the ledger, read as the device (key):
// its first batch when it has none (devices.Next).
func (e *Env) NextBatch(ctx context.Context, key ed25519.PrivateKey, logPath string) (*devices.Batch, error) {
	log, err := devices.ReadLogFile(logPath)
	if err != nil {
		return nil, err
	}
	latest := &devices.Entry{}
	device := ledger.Address(key.Public().(ed25519.PublicKey))
	var problem *client.Problem
	if err := e.Client().WithKey(key).Get(ctx, "/api/v1/devices/"+device+"/latest", latest); errors.As(err, &problem) && problem.Code == devices.ErrUnknownBatch.Name {
		latest = nil // its first batch
	} else if err != nil {
		return nil, err
	}
	return devices.Next(log, latest)
}

// KeepReadings uploads to the keeper's node the readings of the device's
// committed batches its keeper does not keep yet, from the log in logPath,
// signed as the device (key): from its latest batch back to one kept
// before (or its first). Nothing when no one keeps its readings (nil, and
// keeper ""); keeper is who keeps them.
func (e *Env) KeepReadings(ctx context.Context, key ed25519.PrivateKey, logPath string) (kept []*devices.Kept, keeper string, err error) {
	device := ledger.Address(key.Public().(ed25519.PublicKey))
	c := e.Client().WithKey(key)
	var k devices.Keeper
	var problem *client.Problem
	if err := c.Get(ctx, "/api/v1/devices/"+device+"/keeper", &k); errors.As(err, &problem) && problem.Code == devices.ErrNoKeeper.Name {
		return nil, "", nil
	} else if err != nil {
		return nil, "", err
	}
	// The keeper's node: where it says it answers, or (a keeper that has
	// published no endpoint yet) the node this command talks to.
	node := e.Client().WithKey(key)
	if endpoint, err := c.Endpoint(ctx, k.Keeper); err == nil {
		node = client.New(endpoint).WithKey(key)
	} else if !errors.As(err, &problem) || problem.Code != records.ErrNoEndpoint.Name {
		return nil, k.Keeper, fmt.Errorf("the keeper of this device's readings: %w", err)
	}
	log, err := devices.ReadLogFile(logPath)
	if err != nil {
		return nil, k.Keeper, err
	}
	kept, err = c.KeepLog(ctx, device, log, node)
	return kept, k.Keeper, err
}

// Bundle is the proof bundle of reading index of the device's log in the
// file logPath, as its batch seq committed it (prove.Prover.Bundle), read
// as from (or else as ReadClient reads without it) and checked first with
// the light client trust sets up.
func (e *Env) Bundle(ctx context.Context, t Trust, from, device, logPath string, seq, index uint64) (*prove.Bundle, error) {
	log, err := devices.ReadLogFile(logPath)
	if err != nil {
		return nil, err
	}
	c := e.Client()
	if from != "" {
		if c, err = e.ReadClient(ctx, from); err != nil {
			return nil, err
		}
	}
	prover, err := e.Prover(ctx, t, c)
	if err != nil {
		return nil, err
	}
	return prover.Bundle(ctx, device, seq, log, index)
}

// TrustedValidators is the chain and validator set a bundle is checked
// against (prove.TrustedValidators): the hash validators gives, in hex, on
// chainID, or else the chain and set of the genesis document in the file
// genesis (default: this home's config/genesis.json).
func (e *Env) TrustedValidators(genesis, validators, chainID string) (chain string, trusted []byte, err error) {
	if validators != "" {
		if trusted, err = hex.DecodeString(validators); err != nil {
			return "", nil, fmt.Errorf("--validators: hex")
		}
		if chainID == "" {
			return "", nil, fmt.Errorf("--validators needs --chain-id: the chain you trust those validators on")
		}
		return chainID, trusted, nil
	}
	if chainID != "" {
		return "", nil, fmt.Errorf("--chain-id goes with --validators: a genesis names its own chain")
	}
	if genesis == "" {
		genesis = filepath.Join(e.Home, "config", "genesis.json")
	}
	doc, err := types.GenesisDocFromFile(genesis)
	if err != nil {
		return "", nil, err
	}
	trusted, err = prove.TrustedValidators(doc)
	return doc.ChainID, trusted, err
}

// VerifyBundle checks the proof bundle in the file path offline against
// the chain and validators trusted (TrustedValidators;
// prove.VerifyBundle).
func (e *Env) VerifyBundle(path, genesis, validators, chainID string) (*prove.Bundle, *prove.Checked, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var b prove.Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", prove.ErrBundleFormat, err)
	}
	chain, trusted, err := e.TrustedValidators(genesis, validators, chainID)
	if err != nil {
		return nil, nil, err
	}
	c, err := prove.VerifyBundle(&b, chain, trusted)
	return &b, c, err
}

// MeasureNames are the names of the measures a reading may carry
// (devices.Measures), as --code takes them, comma-separated.
func MeasureNames() string {
	names := make([]string, len(devices.Measures))
	for i, m := range devices.Measures {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

// RecordReading appends a reading to the device's log in the file logPath
// (made if absent): the measure code names (devices.MeasureNamed), its
// value in the measure's unit, kept in hundredths, taken at the time at
// (RFC 3339), or else now. An implausible reading is refused
// (devices.Reading.Check).
func RecordReading(logPath, code string, value float64, at string, now time.Time) (devices.Measure, devices.Reading, error) {
	m, ok := devices.MeasureNamed(code)
	if n, err := strconv.ParseUint(code, 10, 32); !ok && err == nil {
		m, ok = devices.MeasureOf(uint32(n)) // the MDC code as a number
	}
	if !ok {
		return m, devices.Reading{}, fmt.Errorf("--code %q: one of %s, or its MDC code or reference id (docs/devices.md)", code, MeasureNames())
	}
	if math.IsNaN(value) || math.Abs(value) > 1e12 {
		return m, devices.Reading{}, fmt.Errorf("--value: a number in %s", m.Unit)
	}
	when := now
	if at != "" {
		var err error
		if when, err = time.Parse(time.RFC3339, at); err != nil {
			return m, devices.Reading{}, fmt.Errorf("--at: RFC 3339, e.g. 2026-12-04T08:30:00Z")
		}
	}
	r := devices.Reading{Time: when.Unix(), Code: m.Code, Value: int64(math.Round(value * 100))}
	return m, r, devices.Append(logPath, r)
}
