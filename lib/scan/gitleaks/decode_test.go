package gitleaks

import (
	"encoding/base64"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect/codec"
)

// decoderFinds is the truth mayDecode stands in for: does gitleaks'
// decoder find a segment in s?
func decoderFinds(s string) bool {
	_, segments := codec.NewDecoder().Decode(s, nil)
	return len(segments) > 0
}

var decodeCases = []string{
	"",
	"package main\n\nfunc main() {}\n",
	"github.com/hashicorp/vault/sdk/helper/consts",
	"ThisIsAVeryLongIdentifierName := 1",
	"dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ==",
	"token: dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ",
	"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ-_",
	"68656c6c6f20776f726c6420686f772061726520796f75",
	"deadbeefdeadbeefdeadbeefdeadbeef",
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"fmt.Sprintf(\"%02d:%02d\", h, m)",
	"fmt.Sprintf(\"%5d %3d\", a, b)",
	"url = \"https://x.example/?q=a%20b%2Fc\"\nnext %41",
	"%7f%41",
	"%41\n%00",
	"U+0041 U+0042 end",
	"U+0041",
	"xU+0041y",
	"abcdefU+0041 ",
	"\\u0041\\u0042",
	"\\\\u0041",
	"\\\\\\u0041",
	"\\x41\\U00e9",
	"s3cr3t%2",
	"YWJj==",
	"YWJjZGVmZ2hpamtsbW5vcA==extra",
	"0123456789abcdef0123456789abcdef0ZZZZZZZZZZZZZZZZZZZZ",
	"\xff\xfe invalid utf8 %41",
}

func TestMayDecodeCoversDecoder(t *testing.T) {
	for _, s := range decodeCases {
		if decoderFinds(s) && !mayDecode(s) {
			t.Errorf("mayDecode(%q) = false; gitleaks' decoder finds a segment", s)
		}
	}
}

// mayDecode is worth having only if it rules out ordinary code.
func TestMayDecodeRulesOutCode(t *testing.T) {
	for _, s := range []string{
		"package main\n\nimport \"github.com/hashicorp/vault/sdk/helper/consts\"\n",
		"func (b *backend) pathConfigWrite(ctx context.Context, req *logical.Request) error {\n",
		"fmt.Sprintf(\"%02d:%02d\", h, m)",
	} {
		if mayDecode(s) {
			t.Errorf("mayDecode(%q) = true; want false", s)
		}
	}
}

func FuzzMayDecode(f *testing.F) {
	for _, s := range decodeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if decoderFinds(s) && !mayDecode(s) {
			t.Errorf("mayDecode(%q) = false; gitleaks' decoder finds a segment", s)
		}
	})
}

// A secret hidden in base64 is still found once mayDecode lets the
// decoding detector see it, and in the same place.
func TestScanFindsEncodedSecret(t *testing.T) {
	encoded := base64.StdEncoding.EncodeToString([]byte("aws_key = \"" + awsCanary + "\""))
	src := "package x\n\nconst blob = \"" + encoded + "\"\n"
	if !mayDecode(src) {
		t.Fatalf("mayDecode = false for a base64-encoded assignment")
	}
	got := scanString(t, engine, "x.go", src)
	if len(got) != 1 || got[0].Rule != "aws-access-token" || got[0].Line != 3 {
		t.Fatalf("Scan = %+v; want one aws-access-token on line 3", got)
	}
}
