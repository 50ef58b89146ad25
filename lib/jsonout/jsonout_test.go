package jsonout_test

import (
	"bytes"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/jsonout"
)

func TestWriteKeepsAngleBrackets(t *testing.T) {
	var buf bytes.Buffer
	if err := jsonout.Write(&buf, map[string]string{"path": "<a&b>"}); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "{\n  \"path\": \"<a&b>\"\n}\n"; got != want {
		t.Errorf("Write = %q; want %q", got, want)
	}
}

func TestWriteNothingOnEncodingError(t *testing.T) {
	var buf bytes.Buffer
	if err := jsonout.Write(&buf, func() {}); err == nil || buf.Len() != 0 {
		t.Errorf("Write(func) = %v, wrote %q; want an error and nothing written", err, buf.String())
	}
}

func TestLinesOnePerLine(t *testing.T) {
	var buf bytes.Buffer
	l := jsonout.NewLines(&buf)
	for _, v := range []int{1, 2} {
		if err := l.Write(map[string]int{"n": v}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := buf.String(), "{\"n\":1}\n{\"n\":2}\n"; got != want {
		t.Errorf("Lines = %q; want %q", got, want)
	}
}
