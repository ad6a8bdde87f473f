package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/internal/clienv"
	"github.com/primum-health/primum/ledger"
)

// newDevicesCmd is the devices noun: its queries are generated from the
// module's declarations; recording a reading, committing a log, proving a
// reading and checking a proof bundle read files here.
func newDevicesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "devices", Short: devices.Declare().Doc}
	var code, at string
	var value float64
	record := &cobra.Command{
		Use:   "record LOG --code CODE --value V",
		Short: "Append a reading to a device's log file (kept by the device or its gateway, off the ledger)",
		Long: `Appends one reading to LOG (made if absent): its time (--at, default now), its IEEE 11073
MDC code (--code: ` + clienv.MeasureNames() + `, an MDC reference id or its code) and
its value in the code's unit, kept in hundredths. A reading outside the code's plausible
range is refused. 'primum devices batch' commits the log.`,
		Example: "  primum devices record watch.log --code heart_rate --value 72\n  primum devices record watch.log --code spo2 --value 97.5 --at 2026-12-04T08:30:00Z",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, r, err := clienv.RecordReading(args[0], code, value, at, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded %s %.2f %s at %s in %s\n", m.Name, float64(r.Value)/100, m.Unit, time.Unix(r.Time, 0).UTC().Format(time.RFC3339), args[0])
			return nil
		},
	}
	record.Flags().StringVar(&code, "code", "", "what was measured")
	record.Flags().Float64Var(&value, "value", 0, "the value, in the code's unit (hundredths kept)")
	record.Flags().StringVar(&at, "at", "", "when it was measured, RFC 3339 (default now)")
	_ = record.MarkFlagRequired("code")
	_ = record.MarkFlagRequired("value")

	var from, logPath string
	batch := &cobra.Command{
		Use:   "batch --log LOG --from DEVICE",
		Short: "Commit a device's log: its Merkle root and size, with a consistency proof from its last batch",
		Long: `Reads LOG, checks that its first readings are those the device's last batch committed,
and sends the log's RFC 9162 Merkle root and size, with the consistency proof from that
batch, signed by the device's key (--from). One small transaction however many readings
the batch holds. A log that dropped or changed a committed reading cannot be committed.`,
		Example: "  primum devices batch --log watch.log --from watch.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := g.env().FromKey(cmd.Context(), from)
			if err != nil {
				return err
			}
			next, err := g.env().NextBatch(cmd.Context(), key, logPath)
			if err != nil {
				return err
			}
			if err := g.env().SendAs(cmd, key, true, devices.TypeBatch, next); err != nil {
				return err
			}
			return keepReadings(cmd, g, key, logPath)
		},
	}
	batch.Flags().StringVar(&from, "from", "", "the device's key: a name in HOME/keys or a key file path")
	batch.Flags().StringVar(&logPath, "log", "", "the device's log file")
	_ = batch.MarkFlagRequired("log")

	keepCmd := &cobra.Command{
		Use:   "keep --log LOG --from DEVICE",
		Short: "Upload a wearable's committed readings to the node of the organisation that keeps them",
		Long: `A patient names who keeps their wearable's readings ('primum devices keeper'); after
each batch, 'primum devices batch' uploads its readings there. This uploads those of every
committed batch the keeper does not keep yet (after naming a keeper, or when its node was
unreachable), signed by the device's key (--from). The keeper's node checks them against
the batches on the ledger and keeps them as the patient's records: encrypted, read only
under the patient's consent, each read in their trail.`,
		Example: "  primum devices keep --log watch.log --from watch.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := g.env().FromKey(cmd.Context(), from)
			if err != nil {
				return err
			}
			return keepReadings(cmd, g, key, logPath)
		},
	}
	keepCmd.Flags().StringVar(&from, "from", "", "the device's key: a name in HOME/keys or a key file path")
	keepCmd.Flags().StringVar(&logPath, "log", "", "the device's log file")
	_ = keepCmd.MarkFlagRequired("log")

	var index, seq uint64
	var out string
	var trust trustFlags
	proveCmd := &cobra.Command{
		Use:   "prove DEVICE --log LOG --index N --batch SEQ",
		Short: "Write a self-contained proof bundle of one reading, to check offline with 'verify-bundle'",
		Long: `Proves reading N of LOG (0 is the first) as committed by the device's batch SEQ: the
bundle holds the reading, its inclusion proof in the batch's Merkle tree, the batch's
ledger entry with its state proof, and the header the validators signed over that state
(checked here first, with the light client from --genesis or a trusted header). For a
patient's wearable, the patient (or a regulator) proves it: the proof of its batch is
theirs; an organisation's device's, anyone.`,
		Example: "  primum devices prove 3a9c… --log watch.log --index 41 --batch 2 --from patient-1 --out reading-41.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := g.env().Bundle(cmd.Context(), trust.Trust, from, args[0], logPath, seq, index)
			if err != nil {
				return err
			}
			if err := clienv.WriteJSON(cmd.OutOrStdout(), out, b); err != nil || out == "" {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: reading %d of %s in batch %d\n", out, index, args[0], seq)
			return nil
		},
	}
	proveCmd.Flags().StringVar(&logPath, "log", "", "the device's log file")
	proveCmd.Flags().Uint64Var(&index, "index", 0, "the reading's place in the log (0 is the first)")
	proveCmd.Flags().Uint64Var(&seq, "batch", 1, "the batch that committed it (1 is the first)")
	proveCmd.Flags().StringVar(&out, "out", "", "write the bundle to this file")
	proveCmd.Flags().StringVar(&from, "from", "", "read as this key (a patient's wearable: the patient, or a regulator)")
	_ = proveCmd.MarkFlagRequired("log")
	trust.add(proveCmd)

	var genesis, validators, chainID string
	var asFHIR bool
	verify := &cobra.Command{
		Use:   "verify-bundle BUNDLE",
		Short: "Check a reading's proof bundle offline, against the validators you trust",
		Long: `Checks BUNDLE with nothing but itself and a trust root: the chain and validator set of
--genesis (default: this home's config/genesis.json), or --validators, the hash of a set
obtained out of band (after validators changed), with --chain-id. Each step is checked in
turn — the reading decodes, its batch entry is the device's, the reading is at its place
in the batch's Merkle tree, the entry is in the state the app hash commits to, the header
carries that app hash and more than two thirds of its validators signed it, and those
are the chain and validators trusted — and a failure says which step (docs/devices.md).`,
		Example: "  primum devices verify-bundle reading-41.json --genesis genesis.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, c, err := g.env().VerifyBundle(args[0], genesis, validators, chainID)
			if err != nil {
				return err
			}
			if asFHIR {
				patient := ""
				if c.Batch.OwnerKind == string(ledger.KindPatient) {
					patient = c.Batch.Owner
				}
				o, err := fhir.DeviceObservation(fmt.Sprintf("%s.%d", b.Device, b.Index), b.Device, patient, c.Reading)
				if err != nil {
					return err
				}
				out, _ := json.MarshalIndent(o, "", "  ")
				_, err = fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), c, func(w io.Writer) {
				m, _ := devices.MeasureOf(c.Reading.Code)
				fmt.Fprintf(w, "proven: %s %.2f %s at %s, reading %d of device %s, in its batch %d (%d readings), in the state of header %d of %s (%s) signed by %d of %d validators\n",
					m.Name, float64(c.Reading.Value)/100, m.Unit, time.Unix(c.Reading.Time, 0).UTC().Format(time.RFC3339), b.Index, b.Device,
					c.Batch.Seq, c.Batch.Size, c.Header, c.ChainID, c.HeaderTime.UTC().Format(time.RFC3339), c.Signers, c.Of)
			})
		},
	}
	verify.Flags().StringVar(&genesis, "genesis", "", "the consortium's genesis: trust its validators")
	verify.Flags().StringVar(&validators, "validators", "", "instead: the hash of the validator set you trust (hex), with --chain-id")
	verify.Flags().StringVar(&chainID, "chain-id", "", "with --validators: the chain you trust them on")
	verify.Flags().BoolVar(&asFHIR, "fhir", false, "once proven, print the reading as a FHIR R4 Observation (LOINC and IEEE 11073 MDC codes)")
	cmd.AddCommand(record, batch, keepCmd, proveCmd, verify)
	return cmd
}

// keepReadings uploads the device's committed readings its keeper does not
// keep yet, and says what was kept, or why nothing was.
func keepReadings(cmd *cobra.Command, g *globals, key ed25519.PrivateKey, logPath string) error {
	kept, keeper, err := g.env().KeepReadings(cmd.Context(), key, logPath)
	if err != nil {
		return fmt.Errorf("the batch is committed; its readings are not all kept (run 'primum devices keep' again): %w", err)
	}
	if !g.env().Text() {
		return nil
	}
	out := cmd.OutOrStdout()
	if keeper == "" {
		fmt.Fprintf(out, "no keeper named: the readings stay in %s (a patient names one for their wearable: primum devices keeper)\n", logPath)
		return nil
	}
	names := g.env().Names(cmd.Context())
	if len(kept) == 0 {
		fmt.Fprintf(out, "nothing to upload: the latest batch's readings are kept already (keeper: %s)\n", names.Of(keeper))
	}
	for _, k := range kept {
		noun := "readings"
		if k.Readings == 1 {
			noun = "reading"
		}
		fmt.Fprintf(out, "batch %d: %d %s kept by %s as %s\n", k.Batch, k.Readings, noun, names.Of(k.Keeper), strings.Join(k.Records, ", "))
	}
	return nil
}
