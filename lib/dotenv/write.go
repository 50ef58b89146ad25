package dotenv

import (
	"bytes"
	"fmt"
	"strings"
)

// Lookup returns the entry for key.
func (f *File) Lookup(key string) (Entry, bool) {
	i, ok := f.index[key]
	if !ok {
		return Entry{}, false
	}
	return f.Entries[i], true
}

// Set replaces the value of key, keeping its "export", key, spacing, trailing
// comment and line ending as they were. The new value is quoted by
// QuoteValue; inside a quoted multiline value the file's line ending is used.
func (f *File) Set(key, value string) error {
	i, ok := f.index[key]
	if !ok {
		return fmt.Errorf("no key %s in %s", key, f.displayName())
	}
	e := f.Entries[i]
	raw := QuoteValue(value)
	if eol := f.lineEnding(e); eol != "\n" {
		raw = strings.ReplaceAll(raw, "\n", eol)
	}
	if e.valEnd < len(f.src) && f.src[e.valEnd] == '#' {
		raw += " " // a comment glued to the old token must not join a bare value
	}
	if f.edits == nil {
		f.edits = map[int]edit{}
	}
	f.edits[i] = edit{raw: raw}
	return nil
}

// Remove drops the lines of key's entry.
func (f *File) Remove(key string) error {
	i, ok := f.index[key]
	if !ok {
		return fmt.Errorf("no key %s in %s", key, f.displayName())
	}
	if f.edits == nil {
		f.edits = map[int]edit{}
	}
	f.edits[i] = edit{remove: true}
	return nil
}

func (f *File) displayName() string {
	if f.Name == "" {
		return "the file"
	}
	return f.Name
}

// lineEnding is the line ending of e's last line: LF (also at EOF), CR LF
// or CR.
func (f *File) lineEnding(e Entry) string {
	line := f.src[e.lineStart:e.lineEnd]
	switch {
	case bytes.HasSuffix(line, []byte("\r\n")):
		return "\r\n"
	case bytes.HasSuffix(line, []byte("\r")):
		return "\r"
	}
	return "\n"
}

// Bytes returns the file with the edits made by Set and Remove; without
// edits it is the source, byte for byte.
func (f *File) Bytes() []byte {
	var out bytes.Buffer
	out.Grow(len(f.src))
	last := 0
	for i, e := range f.Entries {
		ed, ok := f.edits[i]
		if !ok {
			continue
		}
		if ed.remove {
			out.Write(f.src[last:e.lineStart])
			last = e.lineEnd
			continue
		}
		out.Write(f.src[last:e.valStart])
		out.WriteString(ed.raw)
		last = e.valEnd
	}
	out.Write(f.src[last:])
	return out.Bytes()
}

// QuoteValue returns v written so that Parse reads it back exactly: bare
// when it is made of plain characters, else single-quoted when it holds no
// single quote or carriage return, else double-quoted with escapes (real
// newlines are kept, so PEM blocks stay readable).
func QuoteValue(v string) string {
	if isPlain(v) {
		return v
	}
	if !strings.ContainsAny(v, "'\r") {
		return "'" + v + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// isPlain reports whether v can be written bare: ASCII letters, digits and
// punctuation that no common .env reader (nor a shell sourcing the file)
// treats specially, "#" not first.
func isPlain(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_-.,:/@+=%^", c) >= 0:
		case c == '#' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Encode writes entries as a new .env file, one "KEY=value" line each (with
// "export " when Export is set), LF line endings.
func Encode(entries []Entry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		if e.Export {
			b.WriteString("export ")
		}
		b.WriteString(e.Key)
		b.WriteByte('=')
		b.WriteString(QuoteValue(e.Value))
		b.WriteByte('\n')
	}
	return b.Bytes()
}
