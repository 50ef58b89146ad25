package syspkg

import (
	"regexp"
	"strings"
)

// pythonRuns matches a subprocess call whose argv starts with a literal,
// and shutil.which of a literal.
var pythonRuns = regexp.MustCompile(`(?:subprocess\.(?:run|Popen|call|check_call|check_output)\(\s*\[\s*|shutil\.which\(\s*)["']([^"'\s]+)["']`)

// FromPython finds the programs a Python file runs by a literal name.
func FromPython(file string, src []byte) []Use {
	var uses []Use
	text := string(src)
	for _, m := range pythonRuns.FindAllStringSubmatchIndex(text, -1) {
		line := 1 + strings.Count(text[:m[0]], "\n")
		uses = append(uses, Use{Program: text[m[2]:m[3]], File: file, Line: line})
	}
	return uses
}
