package claims

import "slices"

// EMProfile is one provider's evaluation-and-management billing in a
// month, against the other providers of its type.
type EMProfile struct {
	Provider     string   `json:"provider"`
	OrgType      string   `json:"org_type"`
	Visits       int64    `json:"visits"`
	Levels       [5]int64 `json:"levels"`
	HighPermille int64    `json:"high_permille"` // levels 4 and 5, per mille of visits, rounded
	// Of the other providers of its type with at least MinEMVisits
	// visits (none when fewer than MinEMPeers): their median share, and
	// the share of them at or below this provider, in percent.
	PeerMedianPermille *int64 `json:"peer_median_permille,omitempty"`
	Percentile         *int64 `json:"percentile,omitempty"`
	Peers              int64  `json:"peers"`
	Outlier            bool   `json:"outlier"`
}

// MinEMVisits is how many E/M visits in a month make a profile worth
// comparing; MinEMPeers how many other such providers of its type it is
// compared with at least; OutlierPermille how far above their median a
// provider's high-level share must sit to be flagged.
const (
	MinEMVisits     = 5
	MinEMPeers      = 2
	OutlierPermille = 250
)

// Profiles compares each provider's share of level 4-5 visits with the
// other providers of its type (integers throughout: per mille, percent),
// in the style of CMS's comparative billing reports.
func Profiles(counts []*EMCounts) []*EMProfile {
	out := make([]*EMProfile, 0, len(counts))
	byType := map[string][]*EMProfile{}
	for _, c := range counts {
		p := &EMProfile{Provider: c.Provider, OrgType: c.OrgType, Levels: c.Levels}
		for _, n := range c.Levels {
			p.Visits += n
		}
		if p.Visits > 0 {
			p.HighPermille = ((c.Levels[3]+c.Levels[4])*1000 + p.Visits/2) / p.Visits
		}
		if p.Visits >= MinEMVisits {
			byType[c.OrgType] = append(byType[c.OrgType], p)
		}
		out = append(out, p)
	}
	for _, p := range out {
		var others []int64
		for _, q := range byType[p.OrgType] {
			if q != p {
				others = append(others, q.HighPermille)
			}
		}
		p.Peers = int64(len(others))
		if len(others) < MinEMPeers {
			continue
		}
		slices.Sort(others)
		n := len(others)
		median := (others[(n-1)/2] + others[n/2]) / 2
		at := int64(0)
		for _, s := range others {
			if s <= p.HighPermille {
				at++
			}
		}
		percentile := at * 100 / int64(n)
		p.PeerMedianPermille, p.Percentile = &median, &percentile
		p.Outlier = p.Visits >= MinEMVisits && p.HighPermille-median >= OutlierPermille
	}
	return out
}
