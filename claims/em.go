package claims

import "slices"

// EMProfile is one provider's evaluation-and-management billing in a
// month, against the providers of its type.
type EMProfile struct {
	Provider           string   `json:"provider"`
	OrgType            string   `json:"org_type"`
	Visits             int64    `json:"visits"`
	Levels             [5]int64 `json:"levels"`
	HighPermille       int64    `json:"high_permille"`        // levels 4 and 5, per mille of visits
	PeerMedianPermille int64    `json:"peer_median_permille"` // of the providers of its type
	Percentile         int64    `json:"percentile"`           // share of its peers at or below it, percent
	Peers              int64    `json:"peers"`
	Outlier            bool     `json:"outlier"`
}

// MinEMVisits is how many E/M visits in a month make a profile worth
// comparing; OutlierPermille is how far above its peers' median a
// provider's high-level share must sit to be flagged.
const (
	MinEMVisits     = 5
	OutlierPermille = 250
)

// Profiles compares each provider's share of level 4-5 visits with the
// providers of its type (integers throughout: per mille, percent).
func Profiles(counts []*EMCounts) []*EMProfile {
	out := make([]*EMProfile, 0, len(counts))
	byType := map[string][]int64{}
	for _, c := range counts {
		p := &EMProfile{Provider: c.Provider, OrgType: c.OrgType, Levels: c.Levels}
		for _, n := range c.Levels {
			p.Visits += n
		}
		if p.Visits > 0 {
			p.HighPermille = (c.Levels[3] + c.Levels[4]) * 1000 / p.Visits
		}
		if p.Visits >= MinEMVisits {
			byType[c.OrgType] = append(byType[c.OrgType], p.HighPermille)
		}
		out = append(out, p)
	}
	for _, shares := range byType {
		slices.Sort(shares)
	}
	for _, p := range out {
		peers := byType[p.OrgType]
		p.Peers = int64(len(peers))
		if len(peers) == 0 {
			continue
		}
		p.PeerMedianPermille = peers[(len(peers)-1)/2]
		at := int64(0)
		for _, s := range peers {
			if s <= p.HighPermille {
				at++
			}
		}
		p.Percentile = at * 100 / int64(len(peers))
		p.Outlier = p.Visits >= MinEMVisits && len(peers) >= 3 && p.HighPermille-p.PeerMedianPermille >= OutlierPermille
	}
	return out
}
