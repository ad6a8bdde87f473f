package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/node"
)

// newVersionCmd: 'primum version' says which Primum this is and which
// software upgrades it carries.
func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "This Primum's version, and the software upgrades it carries",
		Long: `Prints the version and commit this binary was built from, the Go it was built with, the
highest app version it runs, and the software upgrades it carries. Before the height of
an upgrade the members scheduled ('primum governance upgrade'), check that the binary you
install lists it: a node whose binary does not carry it stops at that height.`,
		Example: `  primum version
  primum version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type upgrade struct {
				Name       string `json:"name"`
				AppVersion uint64 `json:"app_version"`
			}
			out := struct {
				Version    string    `json:"version"`
				Go         string    `json:"go"`
				AppVersion uint64    `json:"app_version"`
				Snapshots  int       `json:"snapshot_format"`
				Upgrades   []upgrade `json:"upgrades"`
			}{Version: node.Version(), Go: runtime.Version(), AppVersion: app.AppVersionCarried(), Snapshots: app.SnapshotFormat, Upgrades: []upgrade{}}
			for _, u := range app.CarriedUpgrades() {
				out.Upgrades = append(out.Upgrades, upgrade{u.Name, u.AppVersion})
			}
			return g.env().Print(cmd.OutOrStdout(), out, func(w io.Writer) {
				fmt.Fprintf(w, "Primum %s (%s)\n  app version      %d\n  snapshot format  %d\n", out.Version, out.Go, out.AppVersion, out.Snapshots)
				if len(out.Upgrades) == 0 {
					fmt.Fprintln(w, "  upgrades         none carried")
				}
				for _, u := range out.Upgrades {
					fmt.Fprintf(w, "  upgrade          %s (app version %d)\n", u.Name, u.AppVersion)
				}
			})
		},
	}
}
