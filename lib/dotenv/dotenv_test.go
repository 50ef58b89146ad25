package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

type kv struct{ k, v string }

func entriesOf(f *File) []kv {
	var out []kv
	for _, e := range f.Entries {
		out = append(out, kv{e.Key, e.Value})
	}
	return out
}

func TestParseValues(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----"
	tests := []struct {
		name string
		src  string
		want []kv
	}{
		{"plain", "A=1\nB=two\n", []kv{{"A", "1"}, {"B", "two"}}},
		{"no final newline", "A=1", []kv{{"A", "1"}}},
		{"empty value", "A=\nB=''\nC=\"\"\n", []kv{{"A", ""}, {"B", ""}, {"C", ""}}},
		{"export prefix", "export A=1\nexport\tB=2\n", []kv{{"A", "1"}, {"B", "2"}}},
		{"key named export", "export=1\nexport =2x\n", nil}, // duplicate: checked below
		{"blanks around equals", "A = 1\nB\t=\t2 \n", []kv{{"A", "1"}, {"B", "2"}}},
		{"comments and blanks", "# top\n\n  # indented\nA=1 # note\nB=2#not-a-comment\n", []kv{{"A", "1"}, {"B", "2#not-a-comment"}}},
		{"hash first is a value", "P=#x\n", []kv{{"P", "#x"}}},
		{"blank then hash is a comment", "P= # nothing\n", []kv{{"P", ""}}},
		{"dollar kept literally", "A=pa$WORD\nB=${HOME}/x\nC='$X'\nD=\"$Y\"\n", []kv{{"A", "pa$WORD"}, {"B", "${HOME}/x"}, {"C", "$X"}, {"D", "$Y"}}},
		{"single quotes literal", `A='a\nb "c" # d'` + "\n", []kv{{"A", `a\nb "c" # d`}}},
		{"double quote escapes", `A="l1\nl2\t\"q\" \\ \r"` + "\n", []kv{{"A", "l1\nl2\t\"q\" \\ \r"}}},
		{"double quotes keep hash", `A="x # y" # z` + "\n", []kv{{"A", "x # y"}}},
		{"multiline double", "K=\"" + pem + "\"\nN=1\n", []kv{{"K", pem}, {"N", "1"}}},
		{"multiline single", "K='" + pem + "'\n", []kv{{"K", pem}}},
		{"crlf", "A=1\r\nB=\"x\r\ny\"\r\nC=' z '\r\n", []kv{{"A", "1"}, {"B", "x\ny"}, {"C", " z "}}},
		// A lone CR ends a line, as in old Mac files and most .env readers:
		// the next line is never swallowed into the value.
		{"lone cr ends a line", "A=b\rC=d\r", []kv{{"A", "b"}, {"C", "d"}}},
		{"lone cr after a comment", "# note\rA=1\r", []kv{{"A", "1"}}},
		{"lone cr after a quoted value", "A='x'\rB=\"y\" # c\rC=z", []kv{{"A", "x"}, {"B", "y"}, {"C", "z"}}},
		{"lone cr inside quotes is a line break", "A='l1\rl2'\rB=\"m1\rm2\"\r", []kv{{"A", "l1\nl2"}, {"B", "m1\nm2"}}},
		{"cr before crlf", "A=b\r\r\nC=d\r\n", []kv{{"A", "b"}, {"C", "d"}}},
		{"cr before crlf in quotes", "A='x\r\r\ny'\r\n", []kv{{"A", "x\n\ny"}}},
		{"bom", "\xef\xbb\xbfA=1\n", []kv{{"A", "1"}}},
		{"unicode keys and values", "CLÉ=värde\nключ=значение\n_x.y-z=ü\n", []kv{{"CLÉ", "värde"}, {"ключ", "значение"}, {"_x.y-z", "ü"}}},
		{"inner quotes in bare value", `A=it's"ok"` + "\n", []kv{{"A", `it's"ok"`}}},
		{"trailing blanks trimmed", "A=x  \t\n", []kv{{"A", "x"}}},
		{"equals in value", "A=a=b==\n", []kv{{"A", "a=b=="}}},
		{"nul byte", "A=\"a\x00b\"\n", []kv{{"A", "a\x00b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("t.env", []byte(tt.src))
			if tt.name == "key named export" {
				if err == nil || !strings.Contains(err.Error(), "duplicate key export") {
					t.Fatalf("Parse = %v; want duplicate key export", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.src, err)
			}
			got := entriesOf(f)
			if len(got) != len(tt.want) {
				t.Fatalf("Parse(%q) = %q; want %q", tt.src, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Parse(%q)[%d] = %q; want %q", tt.src, i, got[i], tt.want[i])
				}
			}
			if b := f.Bytes(); !bytes.Equal(b, []byte(tt.src)) {
				t.Errorf("Bytes() = %q; want the source %q", b, tt.src)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const canary = "s3cr3tCANARY"
	tests := []struct {
		name, src, want string
	}{
		{"no equals", "A=1\nJUSTKEY\n", "t.env:2:8: a line with no '='"},
		{"bad key", "A=1\n1A=" + canary + "\n", "t.env:2:1: expected a key"},
		{"space in key", "MY KEY=" + canary + "\n", "t.env:1:4: expected '=' after the key"},
		{"duplicate", "A=1\nB=2\nA=" + canary + "\n", "t.env:3: duplicate key A (first set on line 1)"},
		{"unterminated double", "A=1\nB=\"" + canary + "\n\nC=3\n", "t.env:2:3: unterminated double-quoted value of B"},
		{"unterminated single", "B='" + canary, "t.env:1:3: unterminated single-quoted value of B"},
		{"text after quote", "B='" + canary + "'x\n", "t.env:1:17: unexpected text after the closing quote of B"},
		{"unknown escape", `B="` + canary + `\q"`, "t.env:1:16: unsupported escape sequence in the value of B"},
		{"invalid utf-8 value", "B=" + canary + "\xff\n", "t.env:1:3: value of B is not valid UTF-8"},
		{"invalid utf-8 key", "B\xff=" + canary + "\n", "t.env:1:2: key is not valid UTF-8"},
		{"export without key", "export =\n", "t.env:1:1: "}, // "export" is the key here: allowed
		{"line number after multiline", "A=\"x\ny\nz\"\n!=" + canary + "\n", "t.env:4:1: expected a key"},
		{"pasted secret without a key", "A=1\n" + canary + "\n", "t.env:2:"},
		{"pasted secret with spaces", "A=1\n" + canary + " more\n", "t.env:2:"},
		{"line number after crlf multiline", "A='x\r\ny'\r\n\r\nB " + canary + "\r\n", "t.env:4:3: expected '=' after the key"},
		{"line number after lone cr", "A=1\rB=2\r\r\nB=" + canary + "\r", "t.env:4: duplicate key B (first set on line 2)"},
		{"line number after lone cr multiline", "A='x\ry'\r!=" + canary + "\r", "t.env:3:1: expected a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.env", []byte(tt.src))
			if tt.name == "export without key" {
				if err != nil {
					t.Fatalf("Parse(%q) = %v; want a key named export", tt.src, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) succeeded; want error %q", tt.src, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %q; want prefix %q", tt.src, err, tt.want)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "CANARY") {
				t.Errorf("error %q leaks the value", err)
			}
		})
	}
}

func TestParseWarnsAboutVariables(t *testing.T) {
	f, err := Parse("w.env", []byte("A=${HOME}\nB='${HOME}'\nC=\"$USER\"\nD=a$\nE=cost$5\n"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, w := range f.Warnings {
		keys = append(keys, w.Key)
	}
	if got := strings.Join(keys, ","); got != "A,B,C" {
		t.Errorf("warnings for keys %q; want A,B,C", got)
	}
	if w := f.Warnings[0]; w.Line != 1 || strings.Contains(w.Message, "HOME") {
		t.Errorf("warning = %+v; want line 1 without the value", w)
	}
}

// TestParseWarnsWhereOthersDiffer: a value another common .env reader would
// read differently gets a warning naming the line and the reader, never the
// value; the value itself is kept as written.
func TestParseWarnsWhereOthersDiffer(t *testing.T) {
	const canary = "CANARYw4rn"
	cases := []struct {
		name, src, value, want string // want: a part of the message; "" for none
	}{
		{"backticks bare", "K=`" + canary + "`\n", "`" + canary + "`", "Node's dotenv strips"},
		{"backticks inside double quotes", "K=\"`" + canary + "`\"\n", "`" + canary + "`", ""},
		{"one backtick", "K=`" + canary + "\n", "`" + canary, ""},
		{"command bare", "K=$(cat " + canary + ")\n", "$(cat " + canary + ")", "Ruby's dotenv runs"},
		{"command double", "K=\"x$(" + canary + ")\"\n", "x$(" + canary + ")", "Ruby's dotenv runs"},
		{"command single", "K='$(" + canary + ")'\n", "$(" + canary + ")", ""},
		{"braces single", "K='${" + canary + "}'\n", "${" + canary + "}", "python-dotenv expands"},
		{"dollar name single", "K='$" + canary + "'\n", "$" + canary, ""},
		{"backslashes single", "K='" + canary + "\\\\x'\n", canary + "\\\\x", "python-dotenv unescapes"},
		{"trailing backslash single", "K='" + canary + "\\'\n", canary + "\\", "python-dotenv unescapes"},
		{"one backslash single", "K='" + canary + "\\n'\n", canary + "\\n", ""},
		{"plain", "K=" + canary + "\n", canary, ""},
	}
	for _, c := range cases {
		f, err := Parse("w.env", []byte("# first\n"+c.src))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := f.Entries[0].Value; got != c.value {
			t.Errorf("%s: value %q; want %q, kept literally", c.name, got, c.value)
		}
		if c.want == "" {
			if len(f.Warnings) != 0 {
				t.Errorf("%s: warnings %v; want none", c.name, f.Warnings)
			}
			continue
		}
		if len(f.Warnings) != 1 {
			t.Errorf("%s: warnings %v; want one", c.name, f.Warnings)
			continue
		}
		w := f.Warnings[0]
		if w.Line != 2 || w.Key != "K" || !strings.Contains(w.Message, c.want) || strings.Contains(w.String(), canary) {
			t.Errorf("%s: warning %+v; want line 2, key K, %q, and no part of the value", c.name, w, c.want)
		}
	}
}

func TestPositions(t *testing.T) {
	src := "\xef\xbb\xbf# c\nexport A = 'x'\nB=\"m\nn\"\n  C=v # c\n"
	f, err := Parse("", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key                   string
		line, endLine, column int
		quote                 Quote
		export                bool
	}{
		{"A", 2, 2, 12, Single, true},
		{"B", 3, 4, 3, Double, false},
		{"C", 5, 5, 5, Bare, false},
	}
	for i, w := range want {
		e := f.Entries[i]
		if e.Key != w.key || e.Line != w.line || e.EndLine != w.endLine || e.Column != w.column || e.Quote != w.quote || e.Export != w.export {
			t.Errorf("entry %d = %s line %d-%d col %d %v export=%v; want %+v", i, e.Key, e.Line, e.EndLine, e.Column, e.Quote, e.Export, w)
		}
	}
}

func TestSetAndRemoveKeepOtherBytes(t *testing.T) {
	src := "\xef\xbb\xbf# app settings\r\nexport DB_PASSWORD = \"hunter2\"  # prod\r\nKEEP='as is'\r\nPEM=\"a\r\nb\"\r\nGONE=x\r\nLAST=1"
	f, err := Parse(".env", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("DB_PASSWORD", "vault:secret/data/app/prod#DB_PASSWORD"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("PEM", "line1\nline2"); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove("GONE"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("LAST", "two words"); err != nil {
		t.Fatal(err)
	}
	want := "\xef\xbb\xbf# app settings\r\nexport DB_PASSWORD = vault:secret/data/app/prod#DB_PASSWORD  # prod\r\nKEEP='as is'\r\nPEM='line1\r\nline2'\r\nLAST='two words'"
	if got := string(f.Bytes()); got != want {
		t.Errorf("Bytes() =\n%q\nwant\n%q", got, want)
	}
	g, err := Parse(".env", f.Bytes())
	if err != nil {
		t.Fatalf("re-parsing the rewritten file: %v", err)
	}
	if got := entriesOf(g); len(got) != 4 || got[0].v != "vault:secret/data/app/prod#DB_PASSWORD" || got[2].v != "line1\nline2" || got[3].v != "two words" {
		t.Errorf("re-parsed = %q", got)
	}
	if err := f.Set("NOPE", "x"); err == nil {
		t.Error("Set of a missing key succeeded")
	}
}

func TestRemoveFirstEntryKeepsBOM(t *testing.T) {
	f, err := Parse("", []byte("\xef\xbb\xbfA=1\nB=2\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.Remove("A")
	if got := string(f.Bytes()); got != "\xef\xbb\xbfB=2\n" {
		t.Errorf("Bytes() = %q", got)
	}
}

func TestQuoteValueRoundTrips(t *testing.T) {
	for _, v := range []string{
		"", "plain", "with space", "#first", "a#b", "it's", `"dq"`, `back\slash`, "$HOME", "${X}",
		"multi\nline", "cr\rlf\r\n", "tab\there", " lead", "trail ", "ü", "both ' and \"", "a\\nb",
		"-----BEGIN KEY-----\nAAA=\n-----END KEY-----\n", "x # y", "'", "\"", "\\", "=", "a=b",
	} {
		raw := QuoteValue(v)
		f, err := Parse("", []byte("K="+raw+"\n"))
		if err != nil {
			t.Errorf("Parse(K=%s) for %q: %v", raw, v, err)
			continue
		}
		if got := f.Entries[0].Value; got != v {
			t.Errorf("QuoteValue(%q) = %s reads back as %q", v, raw, got)
		}
	}
}

func TestEncodeRoundTrips(t *testing.T) {
	in := []Entry{{Key: "A", Value: "1", Export: true}, {Key: "B", Value: "x y\nz"}, {Key: "C", Value: `q'"\`}}
	f, err := Parse("", Encode(in))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range f.Entries {
		if e.Key != in[i].Key || e.Value != in[i].Value || e.Export != in[i].Export {
			t.Errorf("entry %d = %q=%q export=%v; want %q=%q export=%v", i, e.Key, e.Value, e.Export, in[i].Key, in[i].Value, in[i].Export)
		}
	}
}

func TestValidKey(t *testing.T) {
	for k, want := range map[string]bool{"A": true, "_a1": true, "ключ": true, "a.b-c": true, "1A": false, "": false, "A B": false, "-A": false, "A\xff": false, "A$": false} {
		if got := ValidKey(k); got != want {
			t.Errorf("ValidKey(%q) = %v; want %v", k, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"A=1\n", "export A='x'\n", "A=\"l1\\nl2\"\r\n", "\xef\xbb\xbfK=v # c\n", "K=\"-----BEGIN\nX\n-----END\"\n",
		"P=#x\n", "A=${X}\n", "ключ=значение", "A=\"unterminated\n", "A='a'b\n", "# only\n\n", "A\n", "A=1\nA=2\n",
		"A=\"\\q\"", "A= # c\n", "A=\r", "A='\r\n'\r\n", "A=\"x\"#c\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("fuzz.env", src)
		if err != nil {
			var pe *Error
			if e, ok := err.(*Error); !ok || e.Line < 1 {
				t.Fatalf("error %v (%T) is not a *Error with a line", err, pe)
			}
			return
		}
		if !bytes.Equal(file.Bytes(), src) {
			t.Fatalf("Bytes() differs from the source")
		}
		seen := map[string]bool{}
		for _, e := range file.Entries {
			if seen[e.Key] || !ValidKey(e.Key) || !utf8.ValidString(e.Value) {
				t.Fatalf("bad entry %q", e.Key)
			}
			seen[e.Key] = true
		}
		// (Re-encoding a whole file is FuzzRoundTrip's.)
		// Set in place, to a value that needs quotes and to a bare one.
		for _, suffix := range []string{"\n'\"x", "plain"} {
			for i, e := range file.Entries {
				file.Set(e.Key, newValue(i, e.Value, suffix))
			}
			edited, err := Parse("", file.Bytes())
			if err != nil {
				t.Fatalf("re-parsing after Set: %v", err)
			}
			if len(edited.Entries) != len(file.Entries) {
				t.Fatalf("Set changed the number of entries: %d, want %d", len(edited.Entries), len(file.Entries))
			}
			for i, e := range edited.Entries {
				if e.Key != file.Entries[i].Key || e.Value != newValue(i, file.Entries[i].Value, suffix) {
					t.Fatalf("Set round trip changed entry %d", i)
				}
			}
		}
	})
}

// FuzzRoundTrip: a file Parse accepts is written back by Encode and read
// again as the same entries (keys, values, export) in the same order; and
// no key is lost on the way in: every physical line (ended by LF, CR LF or
// a lone CR) that is not part of an entry is blank or a comment, and a bare
// value never holds a line ending.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		"A=1\nB=2\n", "A=b\rC=d", "A=b\r\r\nC=d\r\n", "# c\rA=1", "A='x\ry'\rB=2", "A=\"l1\\nl2\"\r\n",
		"\xef\xbb\xbfexport K=v # c\n", "A=`x`\nB='${Y}'\n", "A=1\n\n  # c\r\n\tB = 'two words' # c\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		lines := physicalLines(src)
		file, err := Parse("fuzz.env", src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > len(lines)+1 {
				t.Fatalf("error %v is not a *Error on one of the %d lines", err, len(lines))
			}
			return
		}
		again, err := Parse("", Encode(file.Entries))
		if err != nil {
			t.Fatalf("Encode wrote a file that does not parse: %v", err)
		}
		if len(again.Entries) != len(file.Entries) {
			t.Fatalf("Encode round trip has %d entries; want %d", len(again.Entries), len(file.Entries))
		}
		for i, e := range again.Entries {
			w := file.Entries[i]
			if e.Key != w.Key || e.Value != w.Value || e.Export != w.Export {
				t.Fatalf("entry %d reads back as %q=%q (export %v); want %q=%q (export %v)", i, e.Key, e.Value, e.Export, w.Key, w.Value, w.Export)
			}
		}
		inEntry := make([]bool, len(lines)+2)
		for _, e := range file.Entries {
			if e.Quote == Bare && strings.ContainsAny(e.Value, "\r\n") {
				t.Fatalf("bare value of %s holds a line ending", e.Key)
			}
			for l := e.Line; l <= e.EndLine && l < len(inEntry); l++ {
				inEntry[l] = true
			}
		}
		for i, l := range lines {
			if rest := strings.TrimLeft(l, " \t"); !inEntry[i+1] && rest != "" && rest[0] != '#' {
				t.Fatalf("line %d is neither blank, a comment nor part of an entry: it was dropped", i+1)
			}
		}
	})
}

// physicalLines splits src (without a leading BOM) at LF, CR LF and lone
// CR, independently of the parser.
func physicalLines(src []byte) []string {
	s := strings.TrimPrefix(string(src), "\xef\xbb\xbf")
	var lines []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			lines = append(lines, s[start:i])
			start = i + 1
		case '\r':
			lines = append(lines, s[start:i])
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

func FuzzQuoteValue(f *testing.F) {
	for _, s := range []string{"", "a b", "'\"\\", "x\r\ny", "#", "$X", "ü\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return
		}
		file, err := Parse("", []byte("K="+QuoteValue(v)+"\n"))
		if err != nil {
			t.Fatalf("QuoteValue(%q) does not parse: %v", v, err)
		}
		if got := file.Entries[0].Value; got != v {
			t.Fatalf("QuoteValue(%q) reads back as %q", v, got)
		}
	})
}

func newValue(i int, old, suffix string) string {
	if suffix == "plain" {
		return "v" + strings.Repeat("1", i)
	}
	return old + suffix
}

func TestSetBeforeGluedComment(t *testing.T) {
	for _, src := range []string{"A=\"x\"#c\n", "A= # c\n", "A=''# c\n"} {
		f, err := Parse("", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		f.Set("A", "new")
		g, err := Parse("", f.Bytes())
		if err != nil || g.Entries[0].Value != "new" {
			t.Errorf("Set in %q gave %q", src, f.Bytes())
		}
	}
}

// ParseLenient skips a malformed line (reporting it) and keeps going; Parse
// stays strict on the same input.
func TestParseLenient(t *testing.T) {
	src := "A=1\nthis is not an entry\nK: v\nB='unterminated\nA=2\nC=\"ok\"\n"
	if _, err := Parse("x.env", []byte(src)); err == nil {
		t.Fatal("Parse accepted a malformed file")
	}
	f, errs := ParseLenient("x.env", []byte(src))
	var got []string
	for _, e := range f.Entries {
		got = append(got, fmt.Sprintf("%s@%d", e.Key, e.Line))
	}
	if want := "A@1 A@5 C@6"; strings.Join(got, " ") != want {
		t.Errorf("entries %v; want %s", got, want)
	}
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	if fmt.Sprint(lines) != "[2 3 4]" {
		t.Errorf("error lines %v; want [2 3 4]", lines)
	}
	if e, _ := f.Lookup("A"); e.Value != "1" {
		t.Errorf("Lookup(A) = %q; want the first", e.Value)
	}
}
