package epcis

import (
	"encoding/json"
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
// strengthDescription give the form and strength. Other vocabularies
// (locations, parties) are not read.
func (d *EPCISDocument) MasterData() ([]supply.CaptureEvent, error) {
	if d.EPCISHeader == nil || d.EPCISHeader.EPCISMasterData == nil {
		return nil, nil
	}
	var out []supply.CaptureEvent
	for _, v := range d.EPCISHeader.EPCISMasterData.VocabularyList {
		if v.Type != vocabEPCClass && v.Type != "EPCClass" {
			continue
		}
		for i, el := range v.VocabularyElementList {
			if len(out) == MaxMasterData {
				return nil, ErrDocument.Wrapf("epcisMasterData: more than %d classes", MaxMasterData)
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
