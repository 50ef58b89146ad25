package gitleaks

import (
	"encoding/base64"
	"unicode/utf8"
)

// mayDecode reports whether gitleaks' decoder could find an encoded segment
// in s. When it cannot, a detector that decodes finds exactly what one that
// does not decode finds, without running the decoder's regular expression,
// which matches every identifier of 16 characters or more and cost a
// quarter of the scan's CPU.
//
// It follows the leftmost-first matches of gitleaks' (v8.30) combined
// encoding pattern
//
//	(?P<percent>%[0-9A-Fa-f]{2}(?:.*%[0-9A-Fa-f]{2})?)
//	|(?P<unicode>(?:(?:U\+[a-fA-F0-9]{4}(?:\s|$))+|(?i)(?:\\{1,2}u[a-fA-F0-9]{4})+))
//	|(?P<hex>[0-9A-Fa-f]{32,})
//	|(?P<base64>[\w\/+-]{16,}={0,2})
//
// and its decoders' rules for when a match decodes to nothing. Anything it
// is unsure of (invalid UTF-8) counts as decodable.
func mayDecode(s string) bool {
	if !utf8.ValidString(s) {
		// RE2's '.' does not match invalid bytes; not worth emulating
		return true
	}
	for p := 0; p < len(s); {
		start, end, kind := nextEncoded(s, p)
		if start < 0 {
			return false
		}
		if decodes(kind, s[start:end]) {
			return true
		}
		p = end
	}
	return false
}

type encodedKind int

const (
	percentEncoded encodedKind = iota
	unicodeEncoded
	hexEncoded
	base64Encoded
)

// nextEncoded returns the leftmost match of the encoding pattern at or after
// p, or start -1.
func nextEncoded(s string, p int) (start, end int, kind encodedKind) {
	for q := p; q < len(s); {
		switch c := s[q]; {
		case c == '%':
			if e := percentAt(s, q); e > 0 {
				return q, e, percentEncoded
			}
			q++
		case c == '\\':
			if e := escapesAt(s, q); e > 0 {
				return q, e, unicodeEncoded
			}
			q++
		case isBase64Char(c):
			run := q
			for run < len(s) && isBase64Char(s[run]) {
				run++
			}
			if run-q >= 16 {
				if e := codePointsAt(s, q); e > 0 {
					return q, e, unicodeEncoded
				}
				h := q
				for h < len(s) && isHexChar(s[h]) {
					h++
				}
				if h-q >= 32 {
					return q, h, hexEncoded
				}
				e := run
				for e < len(s) && e-run < 2 && s[e] == '=' {
					e++
				}
				return q, e, base64Encoded
			}
			// shorter runs start no hex or base64 match anywhere inside;
			// only U+XXXX can
			for ; q < run; q++ {
				if s[q] != 'U' {
					continue
				}
				if e := codePointsAt(s, q); e > 0 {
					return q, e, unicodeEncoded
				}
			}
		default:
			q++
		}
	}
	return -1, -1, 0
}

// percentAt matches %XX(?:.*%XX)? at q: to the last %XX on the line.
func percentAt(s string, q int) int {
	if !hexPairAt(s, q+1) {
		return 0
	}
	end := q + 3
	for i := q + 3; i+2 < len(s) && s[i] != '\n'; i++ {
		if s[i] == '%' && hexPairAt(s, i+1) {
			end = i + 3
		}
	}
	return end
}

// codePointsAt matches (?:U\+XXXX(?:\s|$))+ at q.
func codePointsAt(s string, q int) int {
	i := q
	for i+6 <= len(s) && s[i] == 'U' && s[i+1] == '+' && hexQuadAt(s, i+2) {
		switch {
		case i+6 == len(s):
			return i + 6
		case isSpace(s[i+6]):
			i += 7
		default:
			if i == q {
				return 0
			}
			return i
		}
	}
	if i == q {
		return 0
	}
	return i
}

// escapesAt matches (?i)(?:\\{1,2}u[a-fA-F0-9]{4})+ at q.
func escapesAt(s string, q int) int {
	i := q
	for {
		switch {
		case i+7 <= len(s) && s[i] == '\\' && s[i+1] == '\\' && (s[i+2] == 'u' || s[i+2] == 'U') && hexQuadAt(s, i+3):
			i += 7
		case i+6 <= len(s) && s[i] == '\\' && (s[i+1] == 'u' || s[i+1] == 'U') && hexQuadAt(s, i+2):
			i += 6
		default:
			if i == q {
				return 0
			}
			return i
		}
	}
}

// decodes reports whether gitleaks' decoder for kind turns m into a
// non-empty value (only those become segments).
func decodes(kind encodedKind, m string) bool {
	switch kind {
	case percentEncoded:
		// as codec.decodePercent: empty when an escape is not printable
		for i := 0; i < len(m); i++ {
			if m[i] == '%' && i+2 < len(m) && isHexChar(m[i+1]) && isHexChar(m[i+2]) {
				if !printable(hexValue(m[i+1])<<4 | hexValue(m[i+2])) {
					return false
				}
				i += 2
			}
		}
		return m != ""
	case hexEncoded:
		// as codec.decodeHex
		if len(m)%2 != 0 || !hasDigit(m, "") {
			return false
		}
		for i := 0; i < len(m); i += 2 {
			if !printable(hexValue(m[i])<<4 | hexValue(m[i+1])) {
				return false
			}
		}
		return true
	case base64Encoded:
		// as codec.decodeBase64
		if !hasDigit(m, "+/-_") {
			return false
		}
		if b, err := base64.StdEncoding.DecodeString(m); err == nil && allPrintable(b) && len(b) > 0 {
			return true
		}
		b, err := base64.RawURLEncoding.DecodeString(m)
		return err == nil && allPrintable(b) && len(b) > 0
	default:
		// codec.decodeUnicode never returns an empty value
		return true
	}
}

func isBase64Char(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '/' || c == '+' || c == '-'
}

func isHexChar(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexPairAt(s string, i int) bool { return i+1 < len(s) && isHexChar(s[i]) && isHexChar(s[i+1]) }

func hexQuadAt(s string, i int) bool { return hexPairAt(s, i) && hexPairAt(s, i+2) }

// isSpace is RE2's \s.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func hexValue(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// printable is gitleaks' codec notion: 0x09 to 0x7e.
func printable(b byte) bool { return '\x08' < b && b < '\x7f' }

func allPrintable(b []byte) bool {
	for _, c := range b {
		if !printable(c) {
			return false
		}
	}
	return true
}

// hasDigit reports whether s holds a decimal digit or one of extra.
func hasDigit(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			return true
		}
		for j := 0; j < len(extra); j++ {
			if s[i] == extra[j] {
				return true
			}
		}
	}
	return false
}
