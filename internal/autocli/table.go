package autocli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/primum-health/primum/ledger"
)

// Table writes a list answer's items under the query's columns.
func Table(w io.Writer, cols []ledger.Column, items []map[string]any, names Names) {
	if len(items) == 0 {
		fmt.Fprintln(w, "(none)")
		return
	}
	cells := make([][]string, len(items))
	used := make([]bool, len(cols)) // a column empty on every row is left out
	for r, item := range items {
		cells[r] = make([]string, len(cols))
		for i, c := range cols {
			var v any = item
			for _, part := range strings.Split(c.Field, ".") {
				m, _ := v.(map[string]any)
				v = m[part]
			}
			cell := cellOf(v)
			if n, ok := v.(float64); ok && c.Cents {
				cell = ledger.Cents(int64(n))
			}
			if list, ok := v.([]any); ok && c.Who { // a list of identities: each by name
				named := make([]string, len(list))
				for j, e := range list {
					named[j] = names.Short(cellOf(e))
				}
				cell = strings.Join(named, ",")
			} else if c.Who && cell != "" {
				cell = names.Short(cell)
			}
			cells[r][i] = Printable(cell)
			used[i] = used[i] || cell != ""
		}
	}
	var shown []int
	for i := range cols {
		if used[i] {
			shown = append(shown, i)
		}
	}
	var buf bytes.Buffer
	defer func() { // without the padding that ends a line
		for _, line := range strings.SplitAfter(buf.String(), "\n") {
			io.WriteString(w, strings.TrimRight(line, " \n")+strings.Repeat("\n", strings.Count(line, "\n")))
		}
	}()
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	for j, i := range shown {
		fmt.Fprint(tw, cols[i].Head, tab(j, len(shown)))
	}
	for _, row := range cells {
		for j, i := range shown {
			fmt.Fprint(tw, row[i], tab(j, len(shown)))
		}
	}
	tw.Flush()
}

// Printable is s with control characters (a terminal's escapes: a
// member's name could otherwise retitle the window or write the
// clipboard of whoever lists proposals) shown as U+FFFD.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) { // Cf: bidi overrides, which reorder what is shown
			return '\uFFFD'
		}
		return r
	}, s)
}

func tab(i, n int) string {
	if i == n-1 {
		return "\n"
	}
	return "\t"
}

// cellOf is a JSON value as a table shows it: a list comma-separated, yes
// or nothing for yes/no, nothing for null.
func cellOf(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "yes"
		}
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = cellOf(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		// A count of something ({"type": "icu-bed", "units": 3}) reads
		// as "3 icu-bed"; anything else as its JSON.
		if len(v) == 2 {
			var word, count string
			for _, x := range v {
				switch x := x.(type) {
				case string:
					word = x
				case float64:
					count = cellOf(x)
				}
			}
			if word != "" && count != "" {
				return count + " " + word
			}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// NextFlags are the flags that ask for the page a paged answer named next
// (the parameters that differ from those sent), "" when it was the last.
func NextFlags(sent, next url.Values) string {
	var names []string
	for name := range next {
		if next.Get(name) != sent.Get(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := ""
	for _, name := range names {
		out += fmt.Sprintf(" --%s %q", name, next.Get(name))
	}
	return out
}
