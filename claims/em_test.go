package claims

import "testing"

// TestProfiles: a provider is compared with the others of its type (never
// itself), shares are rounded per mille, and too few peers compare
// nothing.
func TestProfiles(t *testing.T) {
	em := func(provider, orgType string, levels ...int64) *EMCounts {
		c := &EMCounts{Provider: provider, OrgType: orgType}
		copy(c.Levels[:], levels)
		return c
	}
	got := Profiles([]*EMCounts{
		em("slh", "hospital", 1, 2, 3, 1, 0), // 1 of 7 high: 143
		em("rgh", "hospital", 1, 2, 2, 1, 0), // 1 of 6: 167 (166.7 rounded)
		em("efh", "hospital", 0, 1, 0, 2, 3), // 5 of 6: 833
		em("few", "hospital", 0, 0, 0, 2, 2), // 4 visits: not a peer
		em("cli", "clinic", 0, 0, 5, 0, 0),   // alone of its type
	})
	for _, tc := range []struct {
		provider                 string
		high, median, percentile int64
		peers                    int64
		outlier, compared        bool
	}{
		{"slh", 143, 500, 0, 2, false, true},
		{"rgh", 167, 488, 50, 2, false, true},
		{"efh", 833, 155, 100, 2, true, true},
		{"few", 1000, 167, 100, 3, false, true},
		{"cli", 0, 0, 0, 0, false, false},
	} {
		var p *EMProfile
		for _, q := range got {
			if q.Provider == tc.provider {
				p = q
			}
		}
		if p.HighPermille != tc.high || p.Peers != tc.peers || p.Outlier != tc.outlier || (p.Percentile != nil) != tc.compared {
			t.Errorf("%s: %+v", tc.provider, p)
			continue
		}
		if tc.compared && (*p.PeerMedianPermille != tc.median || *p.Percentile != tc.percentile) {
			t.Errorf("%s: median %d percentile %d, want %d %d", tc.provider, *p.PeerMedianPermille, *p.Percentile, tc.median, tc.percentile)
		}
	}
}
