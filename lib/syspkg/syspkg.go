// Package syspkg holds what vaultpipe needs of the machine it is tested and
// demonstrated on: the one list of Debian packages (scripts/debian-packages)
// and the programs the repository runs. Its coverage test proves that every
// program the tests, testscripts, scripts/ and the demo run comes from that
// list, from this repository's own build, or from a short allow-list, so
// that a program installed by hand on one machine cannot hide a missing
// install step on the next.
package syspkg

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// ListFile is the package list, relative to the repository root.
const ListFile = "scripts/debian-packages"

// Package is one entry of the list.
type Package struct {
	Name string
	Why  string // the comment after the name
	Line int
}

var packageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// Load reads a package list: one Debian package name a line, optionally
// followed by a '#' comment; blank and comment-only lines are skipped. A
// malformed line is an error naming path:line (scripts/test-deps refuses
// the same lines).
func Load(path string) ([]Package, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse is Load on data read from name.
func Parse(name string, data []byte) ([]Package, error) {
	var pkgs []Package
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, why, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case len(fields) > 1 || !packageName.MatchString(fields[0]):
			return nil, fmt.Errorf("%s:%d: want one Debian package name a line (then an optional # comment), not %q", name, n, strings.TrimSpace(line))
		}
		if first, dup := seen[fields[0]]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice (first at line %d)", name, n, fields[0], first)
		}
		seen[fields[0]] = n
		pkgs = append(pkgs, Package{Name: fields[0], Why: strings.TrimSpace(why), Line: n})
	}
	return pkgs, sc.Err()
}
