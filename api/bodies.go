package api

// Generated, reflection-free decoders of the submission bodies (easyjson):
// a batch of a thousand transactions is a megabyte of base64 text, which
// encoding/json scans byte by byte twice. Run go generate ./... after
// changing one.
//go:generate go tool easyjson -no_std_marshalers -disallow_unknown_fields bodies.go

import (
	"errors"
	"io"

	"github.com/mailru/easyjson"
	"github.com/mailru/easyjson/jlexer"
)

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

// decodeGenerated decodes a body with its generated decoder. Its problems
// name what is wrong and where (and an unknown field's name, as
// encoding/json's do), never the body's text.
func decodeGenerated(r io.Reader, v easyjson.Unmarshaler) error {
	b, err := io.ReadAll(r)
	if err != nil {
		if tooLarge(err) {
			return errBodyTooLarge
		}
		return errBadRequest.Wrapf("cannot read the body: %v", err)
	}
	l := jlexer.Lexer{Data: b}
	v.UnmarshalEasyJSON(&l)
	l.Consumed()
	if err := l.Error(); err != nil {
		var le *jlexer.LexerError
		switch {
		case len(b) == 0:
			return errBadRequest.Wrapf("malformed JSON: the body is empty")
		case errors.As(err, &le) && le.Reason == "unknown field" && len(le.Data) <= 64:
			return errBadRequest.Wrapf("malformed JSON: unknown field %q", le.Data)
		case errors.As(err, &le):
			return errBadRequest.Wrapf("malformed JSON: %s at byte %d", le.Reason, le.Offset)
		}
		return errBadRequest.Wrapf("malformed JSON: %v", err)
	}
	return nil
}
