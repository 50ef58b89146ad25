// Package jsonout writes vaultpipe's data on stdout: one indented JSON
// document for an answer, JSON lines for a stream. <, > and & are kept as
// they are: the reader is jq or a program, not an HTML page.
package jsonout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Write writes v to w as one indented JSON document and a newline: the form
// of every single-document answer on stdout. Nothing is written when v
// cannot be encoded.
func Write(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding output: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// Lines writes one compact JSON document per line: the form of every
// stream on stdout.
type Lines struct{ enc *json.Encoder }

// NewLines returns a JSON lines writer on w.
func NewLines(w io.Writer) *Lines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Lines{enc: enc}
}

// Write writes v as one line.
func (l *Lines) Write(v any) error {
	if err := l.enc.Encode(v); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
