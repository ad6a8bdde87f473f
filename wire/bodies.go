package wire

// Generated, reflection-free decoders of the submission bodies (easyjson):
// a batch of a thousand transactions is a megabyte of base64 text, which
// encoding/json scans byte by byte twice. Run go generate ./... after
// changing one.
//go:generate go tool easyjson -no_std_marshalers -disallow_unknown_fields bodies.go

// SubmitRequest is the body of POST /api/v1/txs.
//
//easyjson:json
type SubmitRequest struct {
	Tx string `json:"tx"` // base64 of the signed envelope
}

// BatchRequest is the body of POST /api/v1/txs/batch.
//
//easyjson:json
type BatchRequest struct {
	Txs []string `json:"txs"` // base64 of signed envelopes, offered in this order
}
