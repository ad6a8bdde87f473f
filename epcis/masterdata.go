package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// epcisHeader is a document's header: Primum reads its master data.
type epcisHeader struct {
	EPCISMasterData *struct {
		VocabularyList []struct {
			Type                  string `json:"type"`
			VocabularyElementList []struct {
				ID         string `json:"id"`
				Attributes []struct {
					ID        string          `json:"id"`
					Attribute json.RawMessage `json:"attribute"`
				} `json:"attributes"`
			} `json:"vocabularyElementList"`
		} `json:"vocabularyList"`
	} `json:"epcisMasterData"`
}

// vocabEPCClass is the master-data vocabulary of trade items.
const vocabEPCClass = "urn:epcglobal:epcis:vtype:EPCClass"

// MaxMasterData bounds the products one document's master data names.
const MaxMasterData = 200

// MasterData reads the document's EPCClass master data into product steps
// (supply.CaptureEvent step "product"): the manufacturer registers a
// product, or updates the name, dosage form and strength of its own. A
// class is a GTIN's: a Digital Link (https://id.gs1.org/01/<gtin>), an
// element string ((01)<gtin>) or an EPC class pattern
// (urn:epc:idpat:sgtin:<company prefix>.<item reference>.*). Its name is
// the CBV master-data attribute regulatedProductName (else
// tradeItemDescription, else descriptionShort); dosageFormType and
// strengthDescription give the form and strength. A business location's
// or read point's attributes are kept as its master data (step
// "location"; the member that registered its GLN only), which the
// HASATTR_ and EQ_ATTR_ query parameters read. Other vocabularies are
// not read.
func (d *EPCISDocument) MasterData() ([]supply.CaptureEvent, error) {
	if d.EPCISHeader == nil || d.EPCISHeader.EPCISMasterData == nil {
		return nil, nil
	}
	var out []supply.CaptureEvent
	for _, v := range d.EPCISHeader.EPCISMasterData.VocabularyList {
		if locationVocab(v.Type) {
			for _, el := range v.VocabularyElementList {
				if len(out) == MaxMasterData {
					return nil, ErrDocument.Wrapf("epcisMasterData: more than %d elements", MaxMasterData)
				}
				loc := &supply.LocationMaster{ID: el.ID}
				for _, a := range el.Attributes {
					// Text as it is; any other value as compact JSON.
					var text string
					if json.Unmarshal(a.Attribute, &text) != nil {
						var b bytes.Buffer
						if json.Compact(&b, a.Attribute) != nil {
							return nil, ErrDocument.Wrapf("epcisMasterData: attribute %q is not JSON", ledger.Echo(a.ID))
						}
						text = b.String()
					}
					val := text
					loc.Attributes = append(loc.Attributes, [2]string{a.ID, val})
				}
				out = append(out, supply.CaptureEvent{Step: "location", Location: loc})
			}
			continue
		}
		if v.Type != vocabEPCClass && v.Type != "EPCClass" {
			continue
		}
		for i, el := range v.VocabularyElementList {
			if len(out) == MaxMasterData {
				return nil, ErrDocument.Wrapf("epcisMasterData: more than %d elements", MaxMasterData)
			}
			gtin, err := classGTIN(el.ID)
			if err != nil {
				return nil, ErrDocument.Wrapf("epcisMasterData: element %d: %v", i, err)
			}
			p := &supply.RegisterProduct{GTIN: gtin}
			names := map[string]string{}
			for _, a := range el.Attributes {
				var s string
				if json.Unmarshal(a.Attribute, &s) != nil {
					continue
				}
				names[attrName(a.ID)] = s
			}
			for _, n := range []string{"regulatedProductName", "tradeItemDescription", "descriptionShort"} {
				if p.Name == "" {
					p.Name = names[n]
				}
			}
			p.Form, p.Strength = names["dosageFormType"], names["strengthDescription"]
			out = append(out, supply.CaptureEvent{Step: "product", Product: p})
		}
	}
	return out, nil
}

// locationVocab says whether a vocabulary is of locations.
func locationVocab(t string) bool {
	switch t {
	case "urn:epcglobal:epcis:vtype:BusinessLocation", "urn:epcglobal:epcis:vtype:ReadPoint", "BusinessLocation", "ReadPoint":
		return true
	}
	return false
}

// attrName is an attribute id's bare name: "regulatedProductName" from
// "urn:epcglobal:cbv:mda#regulatedProductName" or "cbvmda:regulatedProductName".
func attrName(id string) string {
	if i := strings.LastIndexAny(id, "#:"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// classGTIN reads a trade item class's GTIN-14.
func classGTIN(id string) (string, error) {
	if rest, ok := strings.CutPrefix(id, "urn:epc:idpat:sgtin:"); ok {
		cp, ir, ok := strings.Cut(strings.TrimSuffix(rest, ".*"), ".")
		if !ok || len(cp)+len(ir) != 13 || ir == "" || !gs1.AllDigits(cp+ir) {
			return "", ErrDocument.Wrapf("%q is not an SGTIN class pattern", ledger.Echo(id))
		}
		body := ir[:1] + cp + ir[1:]
		return body + string(gs1.CheckDigit(body)), nil
	}
	c, err := gs1.Parse(id)
	if err != nil || c.GTIN == "" || c.Serial != "" {
		return "", ErrDocument.Wrapf("%q names no trade item class (a GTIN)", ledger.Echo(id))
	}
	return c.GTIN, nil
}

var (
	// eqAttrParam: EQ_ATTR_<field>_<attribute> — the master-data
	// attribute of the location an event's field names (bizLocation or
	// readPoint), by its bare name.
	eqAttrParam = regexp.MustCompile(`^EQ_ATTR_([a-zA-Z0-9]+)_(\w+)$`)
	// hasAttrParam: HASATTR_<extension field> — the location an event's
	// extension field names has one of the attributes given.
	hasAttrParam = regexp.MustCompile(`^HASATTR_([a-z][a-zA-Z0-9]*:\w+)$`)
)

// attrAnswered says whether a master-data parameter is answered: on a
// location (bizLocation, readPoint, or an extension field naming one), or
// on a trade item class (epcClass: the products master data registers).
func attrAnswered(n string) bool {
	if m := eqAttrParam.FindStringSubmatch(n); m != nil {
		return m[1] == "bizLocation" || m[1] == "readPoint" || m[1] == "epcClass"
	}
	return hasAttrParam.MatchString(n)
}

// productAttrs are the EPCClass attributes a product answers (MasterData
// reads them into it).
func productAttrs(p *supply.Product) map[string]string {
	return map[string]string{"regulatedProductName": p.Name, "tradeItemDescription": p.Name, "descriptionShort": p.Name,
		"dosageFormType": p.Form, "strengthDescription": p.Strength}
}

// gtinsOf are the GTINs of the trade items an event names: its packs'
// (SGTINs) and its quantities' classes (LGTINs, GTIN patterns).
func gtinsOf(e *supply.Event) []string {
	var out []string
	add := func(g string) {
		if g != "" && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	for _, list := range [][]string{e.Keys, e.Inputs, e.Outputs} {
		for _, k := range list {
			if rest, ok := strings.CutPrefix(k, "sgtin:"); ok {
				g, _, _ := strings.Cut(rest, ".")
				add(g)
			}
		}
	}
	for _, list := range [][]supply.Quantity{e.Quantities, e.ChildQuantities, e.InputQuantities, e.OutputQuantities} {
		for _, q := range list {
			class := q.Class
			if rest, ok := strings.CutPrefix(class, "urn:epc:class:lgtin:"); ok {
				if i := strings.LastIndexByte(rest, '.'); i > 0 {
					class = "urn:epc:idpat:sgtin:" + rest[:i] + ".*"
				}
			}
			if g, err := classGTIN(class); err == nil {
				add(g)
			}
		}
	}
	return out
}

// locationMasters reads locations' master data and products once a
// query: the first storage error stops it (err).
type locationMasters struct {
	r        ledger.Reader
	seen     map[string]*supply.LocationMaster
	products map[string]*supply.Product
	err      error
}

// productValues are the values of the attributes named of the products
// of gtins.
func (l *locationMasters) productValues(gtins, attrs []string) []any {
	var out []any
	for _, g := range gtins {
		if l.err != nil {
			return nil
		}
		p, ok := l.products[g]
		if !ok {
			var err error
			if p, err = supply.GetProduct(l.r, g); errors.Is(err, supply.ErrUnknownProduct) {
				p, err = nil, nil
			}
			if err != nil {
				l.err = err
				return nil
			}
			l.products[g] = p
		}
		if p == nil {
			continue
		}
		for name, v := range productAttrs(p) {
			if v != "" && (slices.Contains(attrs, name) || slices.ContainsFunc(attrs, func(a string) bool { return attrName(a) == name })) {
				out = append(out, v)
			}
		}
	}
	return out
}

// values are the values of the attributes named (bare names or ids) of
// location id's master data.
func (l *locationMasters) values(id string, attrs []string) []any {
	if id == "" || l.err != nil {
		return nil
	}
	m, ok := l.seen[id]
	if !ok {
		if m, l.err = supply.GetLocationMaster(l.r, id); l.err != nil {
			return nil
		}
		l.seen[id] = m
	}
	if m == nil {
		return nil
	}
	var out []any
	for _, a := range m.Attributes {
		if slices.Contains(attrs, a[0]) || slices.Contains(attrs, attrName(a[0])) {
			out = append(out, a[1])
		}
	}
	return out
}
