package bench

import (
	"fmt"
	"io"
	"math"
)

// WriteSVG draws committed transactions per second and p50/p99 latency over
// time, one line per result.
func WriteSVG(w io.Writer, results ...*Result) error {
	const W, H, pad, gap = 900, 560, 60, 40
	panelH := (H - 2*pad - gap) / 2
	maxSec, maxTPS, maxLat := 1, 1.0, 1.0
	for _, r := range results {
		for _, p := range r.Series {
			maxSec = max(maxSec, p.Second)
			maxTPS = math.Max(maxTPS, float64(p.Committed))
			maxLat = math.Max(maxLat, p.LatencyP99Ms)
		}
	}
	colors := []string{"#0b5563", "#c0561b", "#6a3d9a", "#33a02c"}
	x := func(s int) float64 { return pad + float64(s)/float64(maxSec)*float64(W-2*pad) }
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	panels := []struct {
		title string
		top   int
		maxV  float64
		val   func(Point) float64
		dash  string
	}{
		{"committed transactions per second", pad, maxTPS, func(p Point) float64 { return float64(p.Committed) }, ""},
		{"submit-to-commit latency, ms (solid p50, dashed p99)", pad + panelH + gap, maxLat, func(p Point) float64 { return p.LatencyP50Ms }, ""},
	}
	for pi, pn := range panels {
		fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", pad, pn.top-8, pn.title)
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", pad, pn.top, W-2*pad, panelH)
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">%.0f</text>`+"\n", pad-4, pn.top+10, pn.maxV)
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">0</text>`+"\n", pad-4, pn.top+panelH)
		y := func(v float64) float64 { return float64(pn.top+panelH) - v/pn.maxV*float64(panelH) }
		for ri, r := range results {
			c := colors[ri%len(colors)]
			line := func(val func(Point) float64, dash string) {
				fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" %s points="`, c, dash)
				for _, p := range r.Series {
					fmt.Fprintf(w, "%.1f,%.1f ", x(p.Second), y(val(p)))
				}
				fmt.Fprintln(w, `"/>`)
			}
			line(pn.val, "")
			if pi == 1 {
				line(func(p Point) float64 { return p.LatencyP99Ms }, `stroke-dasharray="5,4"`)
			}
			if pi == 0 {
				fmt.Fprintf(w, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", W-pad-200, pn.top+16+16*ri, c, r.Target)
			}
		}
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle">seconds since start</text>`+"\n", W/2, H-15)
	_, err := fmt.Fprintln(w, "</svg>")
	return err
}
