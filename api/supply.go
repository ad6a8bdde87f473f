package api

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/supply"
)

// verify answers a pharmacist's scan: GET /api/v1/verify?code=…[&as=<org id>].
// Read path only: no consensus round, committed state, the wall clock for expiry.
func (s *server) verify(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	if code == "" || len(code) > 512 {
		writeError(w, errBadRequest.Wrapf("code (a GS1 element string, Digital Link URI or EPC URN, ≤512 characters) is required"))
		return
	}
	v, err := supply.Verify(s.App.Store().Committed(), code, r.URL.Query().Get("as"), time.Now().UTC())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// DSCSAResponse is shaped like a US DSCSA Verification Router Service
// answer: verified or not, the failure reason, and whether it is recalled.
type DSCSAResponse struct {
	GTIN                      string `json:"gtin"`
	SerialNumber              string `json:"serialNumber"`
	LotNumber                 string `json:"lotNumber,omitempty"`
	ExpirationDate            string `json:"expirationDate,omitempty"`
	Verified                  bool   `json:"verified"`
	VerificationFailureReason string `json:"verificationFailureReason,omitempty"`
	Recalled                  bool   `json:"recalled"`
	VerificationTimestamp     string `json:"verificationTimestamp"`
	AdditionalInfo            string `json:"additionalInfo,omitempty"`
}

// dscsaVerify: GET /api/v1/dscsa/verify?gtin=&serialNumber=&lotNumber=&expirationDate=YYMMDD.
func (s *server) dscsaVerify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res := DSCSAResponse{GTIN: q.Get("gtin"), SerialNumber: q.Get("serialNumber"), LotNumber: q.Get("lotNumber"),
		ExpirationDate: q.Get("expirationDate"), VerificationTimestamp: time.Now().UTC().Format(time.RFC3339)}
	code := "(01)" + res.GTIN + "(21)" + res.SerialNumber
	if _, err := gs1.Parse(code); err != nil || res.GTIN == "" || res.SerialNumber == "" {
		writeError(w, errBadRequest.Wrapf("gtin (14 digits) and serialNumber are required: %v", err))
		return
	}
	v, err := supply.Verify(s.App.Store().Committed(), code, "", time.Now().UTC())
	if err != nil {
		writeError(w, err)
		return
	}
	res.Recalled = v.Recall != nil
	switch {
	case v.Verdict == supply.VerdictUnknown:
		res.VerificationFailureReason = "No_match_GTIN_Serial"
		if _, perr := supply.GetProduct(s.App.Store().Committed(), res.GTIN); perr != nil {
			res.VerificationFailureReason = "No_match_GTIN"
		}
	case res.LotNumber != "" && res.LotNumber != v.Lot:
		res.VerificationFailureReason = "No_match_GTIN_Serial_Lot"
	case res.ExpirationDate != "" && !sameExpiry(res.ExpirationDate, v.Expiry):
		res.VerificationFailureReason = "No_match_GTIN_Serial_Expiry"
	default:
		res.Verified = true
		if v.Verdict != supply.VerdictDispensable && v.Verdict != supply.VerdictWrongHands {
			res.AdditionalInfo = v.Verdict + ": " + v.Message
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// sameExpiry compares a YYMMDD expiry with a YYYY-MM-DD one.
func sameExpiry(yymmdd, date string) bool {
	return len(yymmdd) == 6 && len(date) == 10 && date[2:4]+date[5:7]+date[8:10] == yymmdd
}

func (s *server) supplyObject(w http.ResponseWriter, r *http.Request) {
	code, err := url.PathUnescape(r.PathValue("code"))
	if err != nil {
		writeError(w, errBadRequest.Wrapf("bad escaping"))
		return
	}
	key := code
	if !strings.Contains(code, ":") || strings.HasPrefix(code, "urn:") || strings.HasPrefix(code, "http") {
		if key, _, err = supply.KeyOf(code); err != nil {
			writeError(w, err)
			return
		}
	}
	st := s.App.Store().Committed()
	o, err := supply.GetObject(st, key)
	if err != nil {
		writeError(w, err)
		return
	}
	trail, err := supply.Trail(st, key)
	if err != nil {
		writeError(w, err)
		return
	}
	children, _ := supply.Children(st, key)
	writeJSON(w, http.StatusOK, map[string]any{"object": o, "trail": trail, "children": children})
}

func (s *server) supplyProduct(w http.ResponseWriter, r *http.Request) {
	p, err := supply.GetProduct(s.App.Store().Committed(), r.PathValue("gtin"))
	writeItem(w, p, err)
}

func (s *server) supplyRecalls(w http.ResponseWriter, r *http.Request) {
	list, err := supply.Recalls(s.App.Store().Committed())
	writeList(w, list, err)
}

func (s *server) supplySuspects(w http.ResponseWriter, r *http.Request) {
	list, err := supply.Suspects(s.App.Store().Committed(), 1000)
	writeList(w, list, err)
}

// supplyAssets: GET /api/v1/supply/assets[?due_before=YYYY-MM-DD].
func (s *server) supplyAssets(w http.ResponseWriter, r *http.Request) {
	due := r.URL.Query().Get("due_before")
	if due != "" {
		if _, err := time.Parse(time.DateOnly, due); err != nil {
			writeError(w, errBadRequest.Wrapf("due_before must be YYYY-MM-DD"))
			return
		}
	}
	limit, after, err := pageParams(r, 1000, 10000)
	if err != nil {
		writeError(w, err)
		return
	}
	page, next, err := supply.AssetsPage(s.App.Store().Committed(), due, after, limit)
	writePage(w, r, page, next, err)
}
