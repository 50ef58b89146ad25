package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Baseline is a set of accepted findings, matched by fingerprint and file:
// moving code within a file does not re-report it, but the same secret in
// another file (pasted from a baselined test fixture into app code) is
// reported. A file that moved is said so with Move (env-scan --moved).
type Baseline struct {
	Version int             `json:"version"`
	KeyID   string          `json:"key_id"`
	Entries []BaselineEntry `json:"findings"`

	// Migrated is set when the file was an older version, read as this one.
	Migrated int `json:"-"`
}

// BaselineEntry records one accepted finding: fingerprint and file are
// matched; rule and name are for the reader.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	File        string `json:"file"`
	Name        string `json:"name,omitempty"`
}

// baselineVersion 2 matches fingerprint and file; version 1 (fingerprint
// only) files are read as version 2, their file fields matched from then on.
const baselineVersion = 2

// NewBaseline records findings under keyer's key.
func NewBaseline(k *Keyer, findings []Finding) *Baseline {
	b := &Baseline{Version: baselineVersion, KeyID: k.ID(), Entries: []BaselineEntry{}}
	seen := map[[2]string]bool{}
	for _, f := range findings {
		id := [2]string{f.Fingerprint, f.File}
		if seen[id] {
			continue
		}
		seen[id] = true
		b.Entries = append(b.Entries, BaselineEntry{Fingerprint: f.Fingerprint, Rule: f.Rule, File: f.File, Name: f.Name})
	}
	slices.SortFunc(b.Entries, func(x, y BaselineEntry) int {
		if c := bytes.Compare([]byte(x.File), []byte(y.File)); c != 0 {
			return c
		}
		return bytes.Compare([]byte(x.Fingerprint), []byte(y.Fingerprint))
	})
	return b
}

// maxBaseline caps a baseline file, read whole: about 200 bytes a finding.
const maxBaseline = 64 << 20

// LoadBaseline reads a baseline file and checks it was made with keyer's key.
// A version 1 file is read as version 2 (Migrated says so).
func LoadBaseline(path string, k *Keyer) (*Baseline, error) {
	data, err := safefile.Read(path, maxBaseline)
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading baseline", "", err)
	}
	var b Baseline
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fault.New(fault.BadInput, "parsing baseline", path, err)
	}
	switch b.Version {
	case baselineVersion:
	case 1:
		b.Migrated, b.Version = 1, baselineVersion
	default:
		return nil, fault.New(fault.BadInput, "parsing baseline", path, fmt.Errorf("version %d is not supported (want %d, or 1)", b.Version, baselineVersion))
	}
	for i, e := range b.Entries {
		if e.Fingerprint == "" || e.File == "" {
			return nil, fault.New(fault.BadInput, "parsing baseline", path, fmt.Errorf("finding %d has no fingerprint or file", i+1))
		}
	}
	if b.KeyID != k.ID() {
		e := fault.New(fault.BadInput, "using baseline", path, fmt.Errorf("it was written with another fingerprint key (key_id %s, this key is %s)", b.KeyID, k.ID()))
		e.Hint = "use the key the baseline was written with (--key-file or " + KeyEnv + "), or write a new baseline"
		return nil, e
	}
	return &b, nil
}

// Move says that the file or directory from is now to: entries recorded
// under from match findings under to. It returns how many entries moved.
func (b *Baseline) Move(from, to string) int {
	from, to = path.Clean(filepath.ToSlash(from)), path.Clean(filepath.ToSlash(to))
	n := 0
	for i, e := range b.Entries {
		switch {
		case e.File == from:
			b.Entries[i].File = to
		case strings.HasPrefix(e.File, from+"/"):
			b.Entries[i].File = to + e.File[len(from):]
		default:
			continue
		}
		n++
	}
	return n
}

// Filter returns the findings not in the baseline (by fingerprint and file),
// and how many of those are in it under another file: moved files, or a
// baselined secret copied elsewhere.
func (b *Baseline) Filter(findings []Finding) (out []Finding, elsewhere int) {
	known := make(map[[2]string]bool, len(b.Entries))
	fps := make(map[string]bool, len(b.Entries))
	for _, e := range b.Entries {
		known[[2]string{e.Fingerprint, e.File}] = true
		fps[e.Fingerprint] = true
	}
	for _, f := range findings {
		if known[[2]string{f.Fingerprint, f.File}] {
			continue
		}
		if fps[f.Fingerprint] {
			elsewhere++
		}
		out = append(out, f)
	}
	return out, elsewhere
}

// Write stores the baseline atomically.
func (b *Baseline) Write(path string) error {
	var data bytes.Buffer
	if err := jsonout.Write(&data, b); err != nil {
		return err
	}
	if err := safefile.Write(path, data.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing baseline: %w", err)
	}
	return nil
}
