package research

// Off-chain: what a custodian does for a query — count its own rows in
// the query's cohort, one cell per group, and add noise sampled here from
// a discrete Laplace distribution with scale 1/ε (crypto/rand), before
// anything leaves its site. Floats are fine here: nothing of this runs in
// block execution.

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
)

// Row is one record of a custodian's dataset: its value of each
// dimension.
type Row struct {
	Category, Region, AgeBand, Period string
}

func (r Row) of(d string) string {
	switch d {
	case DimCategory:
		return r.Category
	case DimRegion:
		return r.Region
	case DimAgeBand:
		return r.AgeBand
	}
	return r.Period
}

// Count is a custodian's exact cells for a query: its rows in the cohort,
// by the query's groups.
func Count(rows []Row, q *Query, all *Values) []int64 {
	out := make([]int64, len(q.Groups))
	for _, r := range rows {
		in := true
		for _, d := range Dimensions {
			if !slices.Contains(q.Cohort.Of(d, all), r.of(d)) {
				in = false
				break
			}
		}
		if !in {
			continue
		}
		if i := slices.Index(q.Groups, r.of(q.GroupBy)); i >= 0 {
			out[i]++
		}
	}
	return out
}

// Noisy adds discrete Laplace noise of scale 1/ε to each cell (ε in
// millionths): the difference of two geometric variables with
// p = 1 - exp(-ε), sampled from crypto/rand. A count is a sensitivity-1
// query, and the custodians' rows are disjoint, so each custodian's noise
// at ε makes the release ε-differentially private (parallel composition).
func Noisy(cells []int64, epsMicro int64) []int64 {
	eps := float64(epsMicro) / 1e6
	out := make([]int64, len(cells))
	for i, c := range cells {
		out[i] = max(-MaxCount, min(MaxCount, c+geometric(eps)-geometric(eps)))
	}
	return out
}

// geometric samples the number of failures before a success with
// success probability 1 - exp(-eps), by inversion.
func geometric(eps float64) int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	u := (float64(binary.BigEndian.Uint64(b[:])>>11) + 0.5) / (1 << 53) // in (0, 1)
	return int64(math.Floor(math.Log(u) / -eps))
}

// ReadRows reads a custodian's rows: CSV with a header naming category,
// region, age_band and period (other columns ignored).
func ReadRows(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("the rows' header: %w", err)
	}
	col := make([]int, len(Dimensions))
	for i, d := range Dimensions {
		if col[i] = slices.Index(head, d); col[i] < 0 {
			return nil, fmt.Errorf("the rows have no column %q (header: %s)", d, strings.Join(head, ","))
		}
	}
	var out []Row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(out) == MaxCount {
			return nil, fmt.Errorf("more than %d rows", MaxCount)
		}
		out = append(out, Row{Category: rec[col[0]], Region: rec[col[1]], AgeBand: rec[col[2]], Period: rec[col[3]]})
	}
}

// The synthetic example's values and rows: patients of three hospitals
// (regions NORTH, NORTH, SOUTH), a row per patient (each counted once, at
// one hospital: a count's sensitivity is 1) with a category, an age band
// and a quarter.
var SynthValues = Values{Category: []string{"t2d", "t1d", "htn"}, Region: []string{"NORTH", "SOUTH"},
	AgeBand: []string{"18-39", "40-64", "65+"}, Period: []string{"2026-Q3", "2026-Q4"}}

// SynthRows are site i's rows (1 to 3), the same for the same i.
func SynthRows(i int) []Row {
	sizes, regions, old := []int{900, 600, 150}, []string{"NORTH", "NORTH", "SOUTH"}, []float64{0.45, 0.2, 0.3}
	rng := mrand.New(mrand.NewPCG(uint64(i), 11))
	out := make([]Row, sizes[i-1])
	for k := range out {
		band := "40-64"
		switch u := rng.Float64(); {
		case u < old[i-1]:
			band = "65+"
		case u > 0.85:
			band = "18-39"
		}
		cat := "htn"
		switch u := rng.Float64(); {
		case u < 0.45:
			cat = "t2d"
		case u < 0.5:
			cat = "t1d"
		}
		out[k] = Row{Category: cat, Region: regions[i-1], AgeBand: band, Period: SynthValues.Period[rng.IntN(2)]}
	}
	return out
}

// WriteRows writes rows as CSV with a header (ReadRows reads it).
func WriteRows(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(Dimensions)
	for _, r := range rows {
		_ = cw.Write([]string{r.Category, r.Region, r.AgeBand, r.Period})
	}
	cw.Flush()
	return cw.Error()
}
