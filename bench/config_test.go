package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/wire"
)

// A run 'primum bench' cannot make is refused before any network starts,
// naming its flag.
func TestConfigCheck(t *testing.T) {
	ok := Config{Load: Load{Warmup: time.Second, Duration: time.Second, Clients: 1, Batch: 1}, Validators: 1, MaxTxs: 1000, BlockInterval: time.Second}
	for _, c := range []struct {
		name   string
		change func(*Config)
		err    string
	}{
		{"the defaults", func(*Config) {}, ""},
		{"no warm-up, a batch as large as it goes", func(c *Config) { c.Warmup, c.Batch = 0, wire.MaxBatchTxs }, ""},
		{"no validator", func(c *Config) { c.Validators = 0 }, "--validators"},
		{"17 validators", func(c *Config) { c.Validators = 17 }, "--validators"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "--duration"},
		{"a negative warm-up", func(c *Config) { c.Warmup = -time.Second }, "--duration"},
		{"no client", func(c *Config) { c.Clients = 0 }, "--clients"},
		{"too few transactions", func(c *Config) { c.MaxTxs = 999 }, "--max-txs"},
		{"a batch of none", func(c *Config) { c.Batch = 0 }, "--batch"},
		{"too large a batch", func(c *Config) { c.Batch = wire.MaxBatchTxs + 1 }, "--batch"},
		{"a negative rate", func(c *Config) { c.Rate = -1 }, "--rate"},
		{"no block interval", func(c *Config) { c.BlockInterval = 0 }, "--block-interval"},
		{"a block interval over a minute", func(c *Config) { c.BlockInterval = time.Minute + 1 }, "--block-interval"},
	} {
		cfg := ok
		c.change(&cfg)
		if err := cfg.Check(); (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}
