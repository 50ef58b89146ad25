package hcldiag

import (
	"strings"
	"testing"
)

func TestCheckNesting(t *testing.T) {
	deep := "a = " + strings.Repeat("[", 100000) + "\n"
	for _, tc := range []struct {
		name, src, want string
	}{
		{"flat", "a = [1, [2, {b = 3}]]\n", ""},
		{"deep brackets", deep, "f.hcl:1:9: nested more than 4 deep"},
		{"deep blocks on line 3", "# x\n\na { b { c { d { e {", "f.hcl:3:19: nested more than 4 deep"},
		{"brackets in strings", `a = "[[[[[[[[[[[[["` + "\nb = [[[1]]]\n", ""},
		{"escaped quote", `a = "\"[[[[[[[[[[[[[["` + "\n", ""},
		{"brackets in comments", "# [[[[[[[[\n// {{{{{{{{\n/* (((((((\n((((( */ a = [[1]]\n", ""},
		{"interpolation", `a = "${[[[[1]]]]}"`, "f.hcl:1:10: nested more than 4 deep"},
		{"literal interpolation", `a = "$${[[[[[[1]]]]]]}"`, ""},
		{"heredoc", "a = <<-EOT\n  [[[[[[[[[\n  EOT\nb = [1]\n", ""},
		{"heredoc interpolation", "a = <<EOT\n${[[[[[1]]]]]}\nEOT\n", "f.hcl:2:5: nested more than 4 deep"},
		{"line after block comment", "/*\n\n*/\na = [[[[[1]]]]]", "f.hcl:4:9: nested more than 4 deep"},
	} {
		err := CheckNesting("f.hcl", []byte(tc.src), 4)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: CheckNesting = %q; want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseRefusesDeepNestingWithoutCrashing(t *testing.T) {
	src := "a = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"
	if _, err := Parse("f.hcl", []byte(src)); err == nil || !strings.Contains(err.Error(), "f.hcl:1:") {
		t.Fatalf("Parse(100,000 deep) = %v; want an error naming f.hcl:1", err)
	}
	if _, err := Parse("f.hcl", []byte("a = [[1]]\n")); err != nil {
		t.Fatalf("Parse(flat) = %v", err)
	}
}

func FuzzCheckNesting(f *testing.F) {
	f.Add("a = [1]\nb = <<EOT\n${x}\nEOT\n")
	f.Fuzz(func(t *testing.T, src string) {
		CheckNesting("f.hcl", []byte(src), MaxNesting)
	})
}
