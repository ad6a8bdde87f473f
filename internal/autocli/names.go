package autocli

import (
	"context"
	"regexp"
	"strings"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/ledger"
)

// Names are what a person reads for the ids of public identities: an
// organisation's name, a practitioner's profession, licence and
// organisation. Patients' pseudonyms are not public, and stay ids.
type Names map[string]string

// LoadNames reads the public identities, in one request (the first page:
// a thousand). When the read fails there are none, and ids are shown as
// they are.
func LoadNames(ctx context.Context, c *client.Client) Names {
	n := Names{}
	list, err := c.Identities(ctx, "")
	if err != nil {
		return n
	}
	for _, i := range list {
		if i.Kind == ledger.KindOrganisation && i.Name != "" {
			n[i.ID] = i.Name
		}
	}
	for _, i := range list { // after every organisation: a practitioner's is named
		if i.Kind == ledger.KindPractitioner {
			name := strings.TrimSpace(i.Profession + " " + i.Licence)
			if i.Name != "" {
				name = i.Name + ", " + name
			}
			if org, ok := n[i.OrgID]; ok {
				name += " at " + org
			}
			n[i.ID] = name
		}
	}
	return n
}

// Of is "Name (id)" when id's name is known, else the id.
func (n Names) Of(id string) string {
	if name, ok := n[id]; ok && name != "" {
		return Printable(name) + " (" + id + ")"
	}
	return id
}

// Short is a table's "Name (first 12 of the id: 48 bits, too many to
// grind a look-alike for)", or the whole id when its
// name is not known (-o json has every id whole).
func (n Names) Short(id string) string {
	if name, ok := n[id]; ok && name != "" && len(id) > 12 {
		return Printable(name) + " (" + id[:12] + "…)"
	}
	return id
}

// OfKind is Of, or "kind id" when the name is not known (a patient).
func (n Names) OfKind(kind, id string) string {
	if _, ok := n[id]; ok {
		return n.Of(id)
	}
	return strings.TrimSpace(kind + " " + id)
}

// anID is an identity id as it appears in a node's messages.
var anID = regexp.MustCompile(`\b[0-9a-f]{40}\b`)

// In is s with every id it names that has a known name written as
// "Name (id)": a node's message ("held by 5751ac…") as a person reads it.
func (n Names) In(s string) string {
	return anID.ReplaceAllStringFunc(s, n.Of)
}
