package hcldiag

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxNesting is how deep brackets, blocks, strings and interpolations may
// nest in a vaultpipe HCL file. Real files stay under ten; hclsyntax
// recurses per level and a 100,000-deep file overflows the stack, which
// no recover can catch.
const MaxNesting = 100

// Parse checks src's nesting (CheckNesting) and parses it with hclsyntax,
// turning diagnostics into a bad-input error naming file:line:col.
func Parse(file string, src []byte) (*hclsyntax.Body, error) {
	if err := CheckNesting(file, src, MaxNesting); err != nil {
		return nil, err
	}
	f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, Diagnostics(diags)
	}
	return f.Body.(*hclsyntax.Body), nil
}

// CheckNesting returns a bad-input error at the first place where src
// nests deeper than max, counting ( [ { , quoted strings, heredocs and
// ${ } / %{ } interpolations, and skipping comments. It is a linear
// pre-scan that need not agree with HCL on malformed input: it only has to
// keep such input from reaching the recursive parser too deep.
func CheckNesting(file string, src []byte, max int) error {
	type frame struct {
		kind  byte   // ( [ { for code, 'i' interpolation, '"' string, 'h' heredoc
		delim []byte // the heredoc's closing word
	}
	var stack []frame
	line, lineStart := 1, 0
	push := func(f frame, i int) error {
		stack = append(stack, f)
		if len(stack) > max {
			return Errorf(file, hcl.Pos{Line: line, Column: i - lineStart + 1}, "nested more than %d deep", max)
		}
		return nil
	}
	top := func() byte {
		if len(stack) == 0 {
			return 0
		}
		return stack[len(stack)-1].kind
	}
	pop := func() {
		if len(stack) > 0 {
			stack = stack[:len(stack)-1]
		}
	}
	// template handles the characters that mean something inside a string
	// or heredoc; it returns how many extra bytes it consumed.
	template := func(i int) (int, error) {
		c := src[i]
		if (c == '$' || c == '%') && i+1 < len(src) {
			next := src[i+1]
			if next == c && i+2 < len(src) && src[i+2] == '{' {
				return 2, nil // $${ and %%{ are literal
			}
			if next == '{' {
				return 1, push(frame{kind: 'i'}, i)
			}
		}
		return 0, nil
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			line, lineStart = line+1, i+1
		}
		switch top() {
		case '"':
			switch c {
			case '\\':
				i++
			case '"', '\n':
				pop() // a newline ends a broken string; HCL reports it
			default:
				n, err := template(i)
				if err != nil {
					return err
				}
				i += n
			}
			continue
		case 'h':
			if i == lineStart {
				end := bytes.IndexByte(src[i:], '\n')
				if end < 0 {
					end = len(src) - i
				}
				if bytes.Equal(bytes.TrimSpace(src[i:i+end]), stack[len(stack)-1].delim) {
					pop()
					i += end - 1
					continue
				}
			}
			n, err := template(i)
			if err != nil {
				return err
			}
			i += n
			continue
		}
		switch c {
		case '#':
			i = lineEnd(src, i) - 1
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				i = lineEnd(src, i) - 1
			} else if i+1 < len(src) && src[i+1] == '*' {
				end := skipTo(src, i+2, "*/")
				line += bytes.Count(src[i:end], []byte("\n"))
				if nl := bytes.LastIndexByte(src[i:end], '\n'); nl >= 0 {
					lineStart = i + nl + 1
				}
				i = end - 1
			}
		case '"':
			if err := push(frame{kind: '"'}, i); err != nil {
				return err
			}
		case '<':
			if d, n := heredoc(src[i:]); d != nil {
				if err := push(frame{kind: 'h', delim: d}, i); err != nil {
					return err
				}
				i += n - 1 // the loop then reads the newline and counts it
			}
		case '(', '[', '{':
			if err := push(frame{kind: c}, i); err != nil {
				return err
			}
		case ')', ']', '}':
			pop()
		}
	}
	return nil
}

// skipTo is the index just past the next end at or after i, or len(src).
func skipTo(src []byte, i int, end string) int {
	j := bytes.Index(src[i:], []byte(end))
	if j < 0 {
		return len(src)
	}
	return i + j + len(end)
}

// lineEnd is the index of the newline ending i's line, or len(src).
func lineEnd(src []byte, i int) int {
	j := bytes.IndexByte(src[i:], '\n')
	if j < 0 {
		return len(src)
	}
	return i + j
}

// heredoc recognises <<WORD or <<-WORD at the start of b, returning WORD
// and the index of the newline ending the introducer.
func heredoc(b []byte) ([]byte, int) {
	if !bytes.HasPrefix(b, []byte("<<")) {
		return nil, 0
	}
	n := 2
	if n < len(b) && b[n] == '-' {
		n++
	}
	start := n
	for n < len(b) && (b[n] == '_' || b[n] == '-' || b[n] >= 'a' && b[n] <= 'z' || b[n] >= 'A' && b[n] <= 'Z' || b[n] >= '0' && b[n] <= '9') {
		n++
	}
	end := n
	if n < len(b) && b[n] == '\r' {
		n++
	}
	if end == start || n >= len(b) || b[n] != '\n' {
		return nil, 0
	}
	return b[start:end], n
}
