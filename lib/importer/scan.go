package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
)

// Finding is the part of an env-scan JSON line that env-import uses. Other
// fields (rule, confidence, fingerprint …) are ignored.
type Finding struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
}

// ReadScan reads env-scan's JSON lines and returns one Source per .env file
// named by a finding of kind "dotenv", with the keys found in it, in input
// order. Other kinds (secrets in code) are ignored: they have no key to
// import.
func ReadScan(r io.Reader) ([]Source, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var (
		out   []Source
		index = map[string]int{}
		n     int
	)
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var f Finding
		if err := json.Unmarshal(line, &f); err != nil {
			return nil, fmt.Errorf("scan input line %d: not an env-scan finding (a JSON object): %s", n, jsonProblem(err))
		}
		if f.Kind != "dotenv" {
			continue
		}
		if f.File == "" || f.Name == "" {
			return nil, fmt.Errorf("scan input line %d: a dotenv finding needs \"file\" and \"name\"", n)
		}
		file := filepath.Clean(f.File)
		i, ok := index[file]
		if !ok {
			i = len(out)
			index[file] = i
			out = append(out, Source{File: file, Keys: []string{}})
		}
		if !contains(out[i].Keys, f.Name) {
			out[i].Keys = append(out[i].Keys, f.Name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading scan input after line %d: %w", n, err)
	}
	return out, nil
}

// jsonProblem describes a JSON error without echoing the input, which could
// hold a secret.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("field %q has the wrong type", e.Field)
	}
	return "invalid JSON"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
