// Package dotenv holds vaultpipe's strict parser and writer of .env files.
//
// The grammar is in docs/dotenv-grammar.md. In short: KEY=VALUE lines with an
// optional "export " prefix; single quotes are literal; double quotes know
// the escapes \n \r \t \" \\; both quoted forms may span lines (PEM keys);
// bare values end at a " #" comment. Nothing is ever expanded: "${X}" stays
// as written and is reported as a Warning. Duplicate keys and malformed lines
// are errors that name the line but never quote a value.
//
// A parsed File keeps the source bytes and the position of every value, so
// that one value can be replaced or one entry removed while every other byte
// (comments, order, quoting, line endings) stays as it was.
package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Quote says how a value was written.
type Quote int

const (
	Bare   Quote = iota // KEY=value
	Single              // KEY='value'
	Double              // KEY="value"
)

func (q Quote) String() string {
	switch q {
	case Single:
		return "single"
	case Double:
		return "double"
	}
	return "bare"
}

// Entry is one KEY=VALUE assignment.
type Entry struct {
	Key    string
	Value  string
	Quote  Quote
	Export bool // written with the "export " prefix
	// Line is the 1-based line of the key; EndLine the line where the value
	// ends (greater than Line for multiline quoted values).
	Line    int
	EndLine int
	// Column is the 1-based byte column of the value's first byte on Line
	// (its opening quote when quoted); a leading BOM is not counted.
	Column int

	// Byte offsets into the source: the start of the entry's first line,
	// the raw value token [valStart, valEnd), and the end of the entry's
	// last line including its line ending.
	lineStart, valStart, valEnd, lineEnd int
}

// Warning is something legal but worth telling the user: a value that other
// .env readers would read differently (expanded, run, unescaped, stripped),
// while this package keeps it literally. It never holds the value.
type Warning struct {
	Line    int
	Key     string
	Message string
}

func (w Warning) String() string { return fmt.Sprintf("line %d: %s", w.Line, w.Message) }

// Error is a parse error. It names the file, line and column and the
// problem; it never holds any part of a value.
type Error struct {
	Name   string // file name given to Parse ("" when none)
	Line   int
	Column int
	Msg    string
}

func (e *Error) Error() string {
	pos := fmt.Sprintf("line %d", e.Line)
	if e.Name != "" {
		pos = fmt.Sprintf("%s:%d", e.Name, e.Line)
		if e.Column > 0 {
			pos += fmt.Sprintf(":%d", e.Column)
		}
	} else if e.Column > 0 {
		pos += fmt.Sprintf(" column %d", e.Column)
	}
	return pos + ": " + e.Msg
}

// File is a parsed .env file.
type File struct {
	Name     string
	Entries  []Entry
	Warnings []Warning

	src   []byte
	index map[string]int
	edits map[int]edit
}

type edit struct {
	remove bool
	raw    string // new raw value token
}

// Parse parses src strictly. name is used in error messages only.
func Parse(name string, src []byte) (*File, error) {
	p := &parser{name: name, src: src, line: 1}
	f := &File{Name: name, src: src, index: map[string]int{}}
	if bytes.HasPrefix(src, bom) {
		p.pos = len(bom)
		p.lineOff = len(bom)
	}
	for p.pos < len(src) {
		e, isEntry, err := p.line1()
		if err != nil {
			return nil, err
		}
		if !isEntry {
			continue
		}
		if first, dup := f.index[e.Key]; dup {
			return nil, &Error{Name: name, Line: e.Line, Msg: fmt.Sprintf("duplicate key %s (first set on line %d)", e.Key, f.Entries[first].Line)}
		}
		f.Warnings = append(f.Warnings, warnings(e)...)
		f.index[e.Key] = len(f.Entries)
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

// ParseLenient parses src as Parse does but does not stop at a malformed
// line: that line is skipped and its error returned with the others, and a
// key set twice keeps both entries (Lookup finds the first). It is for
// scanners, which report what a file holds; importers use Parse. The File
// is for reading only: Set, Remove and Bytes are not meant for it.
func ParseLenient(name string, src []byte) (*File, []*Error) {
	p := &parser{name: name, src: src, line: 1}
	f := &File{Name: name, src: src, index: map[string]int{}}
	if bytes.HasPrefix(src, bom) {
		p.pos = len(bom)
		p.lineOff = len(bom)
	}
	var errs []*Error
	for p.pos < len(src) {
		pos, line, off := p.pos, p.line, p.lineOff
		e, isEntry, err := p.line1()
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				pe = &Error{Name: name, Line: line, Msg: "not a valid entry"}
			}
			errs = append(errs, pe)
			// resume on the line after the one the entry began on
			p.pos, p.line, p.lineOff = pos, line, off
			p.skipToEOL()
			continue
		}
		if !isEntry {
			continue
		}
		if _, dup := f.index[e.Key]; !dup {
			f.index[e.Key] = len(f.Entries)
		}
		f.Entries = append(f.Entries, e)
	}
	return f, errs
}

var bom = []byte("\xef\xbb\xbf")

type parser struct {
	name    string
	src     []byte
	pos     int
	line    int
	lineOff int // offset of the current line's first column (after a BOM)
}

func (p *parser) errf(col int, format string, args ...any) *Error {
	return &Error{Name: p.name, Line: p.line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) col() int { return p.pos - p.lineOff + 1 }

func (p *parser) skipBlanks() bool {
	start := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
	return p.pos > start
}

// atEOL reports whether pos is at a line ending (LF, CR LF, or a lone CR,
// as old Mac files and most other .env readers have it) or at EOF.
func (p *parser) atEOL() bool {
	return p.pos >= len(p.src) || p.src[p.pos] == '\n' || p.src[p.pos] == '\r'
}

// endLine consumes the line ending at pos (one of LF, CR LF, CR) and
// starts a new line.
func (p *parser) endLine() {
	if p.pos < len(p.src) && p.src[p.pos] == '\r' {
		p.pos++
	}
	if p.pos < len(p.src) && p.src[p.pos] == '\n' {
		p.pos++
	}
	p.newLine()
}

func (p *parser) newLine() {
	p.line++
	p.lineOff = p.pos
}

func (p *parser) skipToEOL() {
	for !p.atEOL() {
		p.pos++
	}
	p.endLine()
}

// line1 parses one logical line: blank, comment, or an entry (which may
// span several physical lines).
func (p *parser) line1() (Entry, bool, error) {
	lineStart := p.pos // after a BOM on line 1: Remove keeps the BOM
	p.skipBlanks()
	if p.atEOL() {
		p.endLine()
		return Entry{}, false, nil
	}
	if p.src[p.pos] == '#' {
		p.skipToEOL()
		return Entry{}, false, nil
	}
	e := Entry{Line: p.line, lineStart: lineStart}
	if rest := p.src[p.pos:]; bytes.HasPrefix(rest, []byte("export")) && len(rest) > 6 && (rest[6] == ' ' || rest[6] == '\t') {
		save := p.pos
		p.pos += 6
		p.skipBlanks()
		if p.pos < len(p.src) && p.src[p.pos] == '=' {
			p.pos = save // a key named "export"
		} else {
			e.Export = true
		}
	}
	keyCol := p.col()
	key, err := p.key()
	if err != nil {
		return e, false, err
	}
	if key == "" {
		return e, false, p.errf(keyCol, "expected a key (letters, digits, _ . -, not starting with a digit)")
	}
	e.Key = key
	p.skipBlanks()
	if p.pos >= len(p.src) || p.src[p.pos] != '=' {
		if p.atEOL() {
			return e, false, p.errf(p.col(), "a line with no '=': not KEY=VALUE (the text is not shown: it may be a pasted secret)")
		}
		return e, false, p.errf(p.col(), "expected '=' after the key (the text is not shown: it may be a pasted secret)")
	}
	p.pos++
	blank := p.skipBlanks()
	e.Column = p.col()
	e.valStart = p.pos
	switch {
	case p.pos < len(p.src) && p.src[p.pos] == '\'':
		e.Quote = Single
		err = p.single(&e)
	case p.pos < len(p.src) && p.src[p.pos] == '"':
		e.Quote = Double
		err = p.double(&e)
	default:
		err = p.bare(&e, blank)
	}
	if err != nil {
		return e, false, err
	}
	if !utf8.ValidString(e.Value) {
		return e, false, &Error{Name: p.name, Line: e.Line, Column: e.Column, Msg: fmt.Sprintf("value of %s is not valid UTF-8", key)}
	}
	e.EndLine = p.line
	if e.Quote != Bare {
		// Only blanks and a comment may follow a closing quote.
		p.skipBlanks()
		if !p.atEOL() && p.src[p.pos] != '#' {
			return e, false, p.errf(p.col(), "unexpected text after the closing quote of %s", key)
		}
		for !p.atEOL() {
			p.pos++
		}
	}
	p.endLine()
	e.lineEnd = p.pos
	return e, true, nil
}

func (p *parser) key() (string, error) {
	start := p.pos
	for p.pos < len(p.src) {
		r, n := utf8.DecodeRune(p.src[p.pos:])
		if r == utf8.RuneError && n <= 1 {
			return "", p.errf(p.col(), "key is not valid UTF-8")
		}
		if !IsKeyRune(r, p.pos == start) {
			break
		}
		p.pos += n
	}
	return string(p.src[start:p.pos]), nil
}

// IsKeyRune reports whether r may appear in a key: a Unicode letter, "_", or
// (not first) a decimal digit, "." or "-".
func IsKeyRune(r rune, first bool) bool {
	if r == '_' || unicode.IsLetter(r) {
		return true
	}
	if first {
		return false
	}
	return r == '.' || r == '-' || unicode.Is(unicode.Nd, r)
}

// ValidKey reports whether k is a legal key.
func ValidKey(k string) bool {
	if k == "" || !utf8.ValidString(k) {
		return false
	}
	for i, r := range k {
		if !IsKeyRune(r, i == 0) {
			return false
		}
	}
	return true
}

// quoted scans a quoted value after its opening quote, calling esc for a
// backslash (double quotes only). A line ending inside the quotes (LF,
// CR LF or a lone CR) is read as LF.
func (p *parser) quoted(e *Entry, q byte, esc func(*strings.Builder) error) error {
	openLine, openCol := p.line, p.col()
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return &Error{Name: p.name, Line: openLine, Column: openCol, Msg: fmt.Sprintf("unterminated %s-quoted value of %s", map[byte]string{'\'': "single", '"': "double"}[q], e.Key)}
		}
		c := p.src[p.pos]
		switch {
		case c == q:
			p.pos++
			e.valEnd = p.pos
			e.Value = b.String()
			return nil
		case c == '\\' && esc != nil:
			if err := esc(&b); err != nil {
				return err
			}
		case c == '\n' || c == '\r':
			b.WriteByte('\n')
			p.endLine()
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

func (p *parser) single(e *Entry) error { return p.quoted(e, '\'', nil) }

func (p *parser) double(e *Entry) error {
	return p.quoted(e, '"', func(b *strings.Builder) error {
		col := p.col()
		if p.pos+1 >= len(p.src) {
			return p.errf(col, "unterminated double-quoted value of %s", e.Key)
		}
		switch p.src[p.pos+1] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '"':
			b.WriteByte('"')
		case '\\':
			b.WriteByte('\\')
		default:
			return p.errf(col, `unsupported escape sequence in the value of %s (only \n \r \t \" \\)`, e.Key)
		}
		p.pos += 2
		return nil
	})
}

// bare scans an unquoted value: up to the end of the line or a "#" preceded
// by a blank, without trailing blanks. blank says whether blanks preceded the
// value, so that "KEY= # note" is an empty value with a comment while
// "KEY=#x" is the value "#x".
func (p *parser) bare(e *Entry, blank bool) error {
	start := p.pos
	end := start
	for !p.atEOL() {
		c := p.src[p.pos]
		if c == '#' && (p.pos == start && blank || p.pos > start && (p.src[p.pos-1] == ' ' || p.src[p.pos-1] == '\t')) {
			for !p.atEOL() {
				p.pos++
			}
			break
		}
		p.pos++
		if c != ' ' && c != '\t' {
			end = p.pos
		}
	}
	e.valEnd = end
	e.Value = string(p.src[start:end])
	return nil
}

// warnings names the ways other .env readers would read e differently:
// this package keeps every value as written.
func warnings(e Entry) []Warning {
	var ws []Warning
	add := func(format string) {
		ws = append(ws, Warning{Line: e.Line, Key: e.Key, Message: fmt.Sprintf(format, e.Key)})
	}
	v := e.Value
	if e.Quote == Single {
		if strings.Contains(v, "${") {
			add("single-quoted value of %s contains ${…}, which python-dotenv expands; it is kept literally")
		}
		if strings.Contains(v, `\\`) || strings.HasSuffix(v, `\`) {
			add("single-quoted value of %s contains a backslash escape, which python-dotenv unescapes; it is kept literally")
		}
		return ws
	}
	if mentionsVariable(v) {
		add("value of %s contains a $ reference; it is kept literally (no expansion)")
	}
	if strings.Contains(v, "$(") {
		add("value of %s contains $(…), which Ruby's dotenv runs as a command; it is kept literally")
	}
	if e.Quote == Bare && len(v) >= 2 && v[0] == '`' && v[len(v)-1] == '`' {
		add("value of %s is wrapped in backticks, which Node's dotenv strips; they are kept as part of the value")
	}
	return ws
}

// mentionsVariable reports "$NAME" or "${" in v: syntax other tools expand.
func mentionsVariable(v string) bool {
	for i := 0; i+1 < len(v); i++ {
		if v[i] != '$' {
			continue
		}
		c := v[i+1]
		if c == '{' || c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}
