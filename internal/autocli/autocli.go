// Package autocli makes a command line from the modules' declarations
// (package modules), in one grammar, noun first: every module is a command
// (primum identity, primum supply, ...) and each transaction type and query
// it declares is a verb under it. A verb written by hand (with flags of its
// own) takes the place of the generated one. What the commands need of the
// program — its keys, its node, how it prints — comes through Env, so the
// engine holds no key and opens no connection of its own.
package autocli

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// Env is what the generated commands need of the program.
type Env interface {
	// Send signs values as a transaction of r's type with the key the
	// command's --from names (and the new key r.Holder's flag opens),
	// and submits it (waiting when --wait).
	Send(cmd *cobra.Command, r ledger.Route, values map[string]any) error
	// Read asks a query as the caller the command names (--from or
	// --token) and answers the body and the next page's parameters.
	Read(cmd *cobra.Command, r Read) ([]byte, url.Values, error)
	// Names are the public identities' names, for text output (none
	// when the output is JSON).
	Names(ctx context.Context) Names
	// Text is whether the output is text (else JSON).
	Text() bool
}

// Read is one query as the command line asked it.
type Read struct {
	Query       ledger.Query
	Args        []string   // the path's parameters, in order; none when Mine
	Params      url.Values // the query's parameters
	From, Token string     // who asks: a key, or an API token
	// Mine: a patient's query ({id}, the patient) asked without an id,
	// about the patient of From (each of their pseudonyms), or of Token.
	Mine bool
}

// Path is the query's path with args for its parameters.
func (r Read) Path(args []string) string {
	path := r.Query.Path
	for i, name := range r.Query.PathParams() {
		path = strings.Replace(path, "{"+name+"}", url.PathEscape(args[i]), 1)
	}
	return path
}

// Renamed names the verbs whose name is not their type's: a hand-written
// verb's, or an older spelling the generated verb answers to as well.
type Renamed map[string]string

// AddCommands adds each module's noun to root (or completes the
// hand-written one) with a verb for every declared transaction and query.
func AddCommands(env Env, root *cobra.Command, renamed Renamed) {
	for _, m := range modules.All() {
		noun := Subcommand(root, m.Name)
		if noun == nil {
			noun = &cobra.Command{Use: m.Name, Short: m.Doc}
			root.AddCommand(noun)
		}
		for _, r := range m.Txs {
			parent, verb := noun, VerbOf(r.Type)
			if r.Verb != "" {
				parent, verb = group(noun, r.Verb)
			}
			if Subcommand(parent, verb) != nil || (renamed[r.Type] != "" && Subcommand(parent, renamed[r.Type]) != nil) {
				continue
			}
			v := txVerb(env, parent, verb, r)
			if old := renamed[r.Type]; old != "" {
				v.Aliases = append(v.Aliases, old)
			}
			parent.AddCommand(v)
		}
		for _, q := range m.Queries {
			// A query's name clashing with a verb written by hand would
			// hide the query (TestEveryQueryHasAVerb).
			parent, verb := group(noun, q.Name)
			if Subcommand(parent, verb) == nil {
				parent.AddCommand(QueryVerb(env, strings.TrimSpace(noun.Name()+" "+strings.TrimSuffix(q.Name, verb)), q))
			}
		}
		// A group's example is its verbs' first examples.
		for _, g := range noun.Commands() {
			if g.Annotations["group"] == "" {
				continue
			}
			var lines []string
			for _, v := range g.Commands() {
				if first, _, _ := strings.Cut(v.Example, "\n"); first != "" {
					lines = append(lines, first)
				}
			}
			g.Example = strings.Join(lines, "\n")
		}
	}
}

// group is where a verb named name goes under noun: noun itself, or for
// two words ("policy show") the group the first names (made when first
// needed; its help lists its verbs), with the second.
func group(noun *cobra.Command, name string) (*cobra.Command, string) {
	name, verb, grouped := strings.Cut(name, " ")
	if !grouped {
		return noun, name
	}
	g := Subcommand(noun, name)
	if g == nil {
		g = &cobra.Command{Use: name, Annotations: map[string]string{"group": "true"},
			// A word that is not one of its verbs is an error, not help
			// and success (cobra runs a group without a verb this way).
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
		noun.AddCommand(g)
	} else if g.Annotations["group"] == "" {
		panic(fmt.Sprintf("%s %s: a verb of that name is not a group", noun.Name(), name))
	}
	verbs := strings.TrimPrefix(g.Short, "The "+name+" verbs: ")
	if g.Short == "" {
		verbs = ""
	} else {
		verbs += ", "
	}
	g.Short = "The " + name + " verbs: " + verbs + verb
	return g, verb
}

// Find is the verb a module's query or transaction is named by under its
// noun: name, or the second word of name in the group the first names.
func Find(noun *cobra.Command, name string) *cobra.Command {
	if g, verb, grouped := strings.Cut(name, " "); grouped {
		if noun = Subcommand(noun, g); noun == nil {
			return nil
		}
		name = verb
	}
	return Subcommand(noun, name)
}

// AddLegacy keeps 'primum tx VERB', the spelling before nouns, for the
// generated identity and governance verbs too (for one release).
func AddLegacy(env Env, tx *cobra.Command, renamed Renamed) {
	for _, m := range modules.All() {
		if m.Name != "identity" && m.Name != "governance" {
			continue
		}
		for _, r := range m.Txs {
			verb := VerbOf(r.Type)
			if old := renamed[r.Type]; old != "" {
				verb = old
			}
			if Subcommand(tx, verb) == nil && Subcommand(tx, VerbOf(r.Type)) == nil {
				tx.AddCommand(txVerb(env, tx, verb, r))
			}
		}
	}
}

// Subcommand is parent's command called name (or by name as an alias).
func Subcommand(parent *cobra.Command, name string) *cobra.Command {
	for _, c := range parent.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// VerbOf is a transaction type's verb: "records.share_case" → "share-case".
func VerbOf(typ string) string {
	_, verb, _ := strings.Cut(typ, ".")
	return strings.ReplaceAll(verb, "_", "-")
}
