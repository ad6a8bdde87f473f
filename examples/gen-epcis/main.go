// Command gen-epcis writes an EPCIS 2.0 document of commissioning events,
// one pack each, to try 'primum supply import' on a large document:
//
//	go run ./examples/gen-epcis -n 100000 > big-epcis.jsonld
//
// The packs are of the demo's product by default, in lots of -lot packs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 100_000, "events (packs)")
	gtin := flag.String("gtin", "09506000134352", "the product's GTIN (registered by the importing manufacturer)")
	prefix := flag.String("serial-prefix", "BULK", "serial numbers are this prefix and a count")
	lot := flag.Int("lot", 1000, "packs per lot")
	flag.Parse()
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprint(w, `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-22T08:00:00Z","epcisBody":{"eventList":[`)
	for i := range *n {
		if i > 0 {
			fmt.Fprint(w, ",\n")
		}
		fmt.Fprintf(w, `{"eventID":"urn:uuid:00000000-0000-4000-8000-%012d","type":"ObjectEvent","eventTime":"2026-11-22T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":["https://id.gs1.org/01/%s/21/%s%d"],"ilmd":{"cbvmda:lotNumber":"%s%d","cbvmda:itemExpirationDate":"2029-01-31"}}`,
			i, *gtin, *prefix, i, *prefix, i / *lot)
	}
	fmt.Fprintln(w, "]}}")
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
