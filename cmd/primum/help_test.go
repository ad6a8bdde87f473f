package main

import (
	"testing"

	"github.com/spf13/cobra"
)

// Every command an operator can run explains itself with an example.
func TestEveryCommandHasHelpAndExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Name() != "help" {
			if c.Short == "" {
				t.Errorf("%s has no short description", c.CommandPath())
			}
			if c.Example == "" {
				t.Errorf("%s has no example", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
}
