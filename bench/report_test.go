package bench

import "testing"

func TestMixShares(t *testing.T) {
	cases := []struct {
		mix  map[string]int
		want string
	}{
		{nil, "none"},
		{map[string]int{"a": 1}, "a 100.0 % (1)"},
		{map[string]int{"b": 1, "a": 3, "c": 1}, "a 60.0 % (3), b 20.0 % (1), c 20.0 % (1)"},
	}
	for _, c := range cases {
		if got := mixShares(c.mix); got != c.want {
			t.Errorf("mixShares(%v) = %q, want %q", c.mix, got, c.want)
		}
	}
}
