package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/lifetime"
	"github.com/primum-health/primum/internal/tokens"
)

// newTokensCmd: the node's service tokens, made, listed and revoked by its
// operator while it runs (internal/tokens).
func newTokensCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Service tokens for integrations: scoped, expiring, revocable, stored hashed",
		Long: `A service token lets an integration (an EHR posting FHIR, a warehouse posting EPCIS)
act through this node with a member key the node holds, for the operations its scopes name,
until it expires or is revoked. Only each token's SHA-256 is kept (HOME/config/tokens.json);
the token itself is printed once, when it is made. A running node sees changes within a second.
People sign their own requests with their own keys instead (--from; docs/api.md).

Scopes: ` + strings.Join(tokens.Scopes, ", ") + ` (every scope).`,
	}
	var scopes []string
	life := lifetime.Flag(90 * lifetime.Day)
	var label string
	create := &cobra.Command{
		Use:     "create KEY",
		Short:   "Make a token for a key this node holds (a name in HOME/keys or a key file path)",
		Example: "  primum tokens create st-lukes --scope fhir.create --label 'EHR import' --expires 90d",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := tokens.HeldKey(g.env().Home, args[0])
			if err != nil {
				return err
			}
			secret, t, err := tokens.Create(g.env().Home, key, scopes, time.Duration(life), label, time.Now())
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), map[string]any{"token": secret, "id": t.ID, "scopes": t.Scopes, "expires": t.Expires}, func(w io.Writer) {
				fmt.Fprintf(w, "token    %s\nid       %s\nscopes   %s\nexpires  %s\n\nThe token is shown this once: give it to the integration now (it is kept only hashed).\n",
					secret, t.ID, strings.Join(t.Scopes, ","), t.Expires.Format(time.RFC3339))
			})
		},
	}
	create.Flags().StringSliceVar(&scopes, "scope", nil, "what it may do (repeatable): "+strings.Join(tokens.Scopes, ", "))
	create.Flags().Var(&life, "expires", "how long it lives: weeks, days or a duration, e.g. 2w, 30d, 12h (at most 366d)")
	create.Flags().StringVar(&label, "label", "", "what it is for, to recognise it in the list")
	_ = create.MarkFlagRequired("scope")

	list := &cobra.Command{
		Use:     "list",
		Short:   "List this node's service tokens (never the tokens themselves)",
		Example: "  primum tokens list\n  primum tokens list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := tokens.List(g.env().Home)
			if err != nil {
				return err
			}
			if list == nil {
				list = []*tokens.Token{}
			}
			now := time.Now()
			return g.env().Print(cmd.OutOrStdout(), list, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKEY\tSCOPES\tLABEL\tEXPIRES\tSTATE")
				for _, t := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Key, strings.Join(t.Scopes, ","), t.Label, t.Expires.Format(time.RFC3339), t.State(now))
				}
				tw.Flush()
			})
		},
	}
	revoke := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a token at once (a running node refuses it within a second)",
		Example: "  primum tokens revoke tok_3f2a91c0b7d4",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tokens.Revoke(g.env().Home, args[0], time.Now())
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), t, func(w io.Writer) { fmt.Fprintf(w, "%s revoked at %s\n", t.ID, t.Revoked.Format(time.RFC3339)) })
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
