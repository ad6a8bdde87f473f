package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/node"
)

// newBackupCmd: 'primum backup' copies a node's home, running or stopped
// (node.Backup).
func newBackupCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Copy a node (running or stopped): its ledger, record store, configuration and keys",
		Long: `Writes a consistent copy of the node in --home to --out, a new or empty folder outside the
home (best on another disk). A running node writes it itself, asked on its admin socket
(HOME/data/admin.sock, usable by the node's own OS account only): it pauses block execution
between two blocks while its ledger's databases are checkpointed (milliseconds), then copies
its record store and the rest of its home while it goes on. A stopped node is copied as it is.

The backup holds the node's private keys (validator, node, member keys) and the record
store's unseal key: it is as secret as the home (owner-only files). It ends with backup.json,
which lists every file with its size and SHA-256; 'primum restore' brings the node back.
See docs/operations.md, "Backup and restore".`,
		Example: `  primum backup --home ~/.primum --out /mnt/backup/primum-$(date +%F)`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			m, err := node.Backup(cmd.Context(), g.env().Home, out)
			if err != nil {
				return err
			}
			took := time.Since(start)
			return g.env().Print(cmd.OutOrStdout(), backupSummary(m, out, took), func(w io.Writer) {
				fmt.Fprintf(w, "backup   %s\nchain    %s\nnode     %s\nheight   %d (app hash %s); blocks to %d\n",
					out, m.ChainID, m.NodeID, m.AppHeight, m.AppHash, m.BlockHeight)
				if m.Online {
					fmt.Fprintf(w, "paused   %.1f ms (the running node's block execution)\n", m.PauseMS)
				}
				fmt.Fprintf(w, "size     %d files, %.1f MB, in %s\n\nIt holds the node's private keys: keep it as secret as the home.\n",
					len(m.Files), float64(m.Size())/1e6, took.Round(time.Millisecond))
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the folder to write the backup in: new or empty, outside the home")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// newRestoreCmd: 'primum restore' brings a node back from a backup
// (node.Restore).
func newRestoreCmd(g *globals) *cobra.Command {
	var from string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Bring a node back from a backup into --home",
		Long: `Copies the backup in --from into --home, checking every file against backup.json and the
restored app state against its app hash. --home must be new or an empty folder; --force moves
a stopped node's home aside (HOME.old-<time>) first. A running node's home is never replaced.
When the home replaced is the same validator's and signed further than the backup (a higher
height, round and step in its priv_validator_state.json), that signing state is kept, so that
the validator never signs twice where it already signed.

Then start the node ('primum node'): it executes again the last block it had and catches up
from its peers. Records it received after the backup are not in it. A validator's backup
must never run beside the node it was taken from: both would sign with one key (double
signing). See docs/operations.md, "Backup and restore".`,
		Example: `  primum restore --from /mnt/backup/primum-2026-12-06 --home ~/.primum`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := node.Restore(from, g.env().Home, force, time.Now())
			if err != nil {
				return err
			}
			m := r.Manifest
			return g.env().Print(cmd.OutOrStdout(), map[string]any{"home": g.env().Home, "moved_aside": r.MovedAside, "chain_id": m.ChainID,
				"node_id": m.NodeID, "app_height": m.AppHeight, "app_hash": m.AppHash, "created": m.Created,
				"signing_state": r.Signing, "signing_state_kept": r.SigningKept}, func(w io.Writer) {
				fmt.Fprintf(w, "restored %s\nchain    %s\nnode     %s\nheight   %d (app hash %s), backed up %s\n",
					g.env().Home, m.ChainID, m.NodeID, m.AppHeight, m.AppHash, m.Created.Format(time.RFC3339))
				if r.MovedAside != "" {
					fmt.Fprintf(w, "old home moved to %s\n", r.MovedAside)
				}
				if r.SigningKept {
					fmt.Fprintf(w, "signing  kept the replaced home's signing state (%s), further than the backup's (%s):\n         the validator will not sign again where it already signed\n", r.Signing, r.BackupSigning)
				}
				fmt.Fprintf(w, "\nStart it with 'primum node --home %s': it catches up from its peers.\nNever run it beside the node the backup was taken from (one validator key, two signers).\n", g.env().Home)
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the backup folder (as 'primum backup' wrote it)")
	cmd.Flags().BoolVar(&force, "force", false, "move a stopped node's home aside instead of refusing it")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

// backupSummary is what 'primum backup -o json' prints: the manifest but
// its file list.
func backupSummary(m *node.Manifest, out string, took time.Duration) map[string]any {
	return map[string]any{"out": out, "chain_id": m.ChainID, "node_id": m.NodeID, "online": m.Online, "pause_ms": m.PauseMS,
		"app_height": m.AppHeight, "app_hash": m.AppHash, "state_height": m.StateHeight, "block_height": m.BlockHeight,
		"created": m.Created, "primum_version": m.Version, "files": len(m.Files), "bytes": m.Size(), "seconds": took.Seconds()}
}
