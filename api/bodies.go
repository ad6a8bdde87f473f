package api

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/mailru/easyjson"
	"github.com/mailru/easyjson/jlexer"
)

// decodeGenerated decodes a body with its generated decoder (the
// submission bodies of package wire, see wire/bodies.go). Its problems name
// what is wrong and where (and an unknown field's name, as encoding/json's
// do), never the body's text.
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

func decodeJSON(r io.Reader, v any) error {
	if u, ok := v.(easyjson.Unmarshaler); ok {
		return decodeGenerated(r, u)
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if tooLarge(err) {
			return errBodyTooLarge
		}
		return errBadRequest.Wrapf("malformed JSON: %v", err)
	}
	return nothingAfter(dec)
}

// nothingAfter refuses a body with anything but white space after its JSON
// value (as easyjson's Consumed does for the generated decoders).
func nothingAfter(dec *json.Decoder) error {
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
		return nil
	case tooLarge(err):
		return errBodyTooLarge
	}
	return errBadRequest.Wrapf("malformed JSON: data after the JSON value")
}
