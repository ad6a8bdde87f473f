package wire

// CaptureJob is the status of one capture (EPCIS 2.0 REST binding).
type CaptureJob struct {
	CaptureID             string         `json:"captureID"`
	CreatedAt             string         `json:"createdAt"`
	FinishedAt            string         `json:"finishedAt,omitempty"`
	Running               bool           `json:"running"`
	Success               bool           `json:"success"`
	CaptureErrorBehaviour string         `json:"captureErrorBehaviour"`
	Events                int            `json:"events"`
	Accepted              int            `json:"accepted"`
	Errors                []CaptureError `json:"errors"`
}

// CaptureError says which event failed and why.
type CaptureError struct {
	EventIndex int    `json:"eventIndex"`
	EventID    string `json:"eventID,omitempty"`
	Code       string `json:"code"`
	Detail     string `json:"detail"`
}
