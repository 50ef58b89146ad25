package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Baseline is a set of accepted findings, matched by fingerprint only so
// that moving code or files does not re-report them.
type Baseline struct {
	Version int             `json:"version"`
	KeyID   string          `json:"key_id"`
	Entries []BaselineEntry `json:"findings"`
}

// BaselineEntry records one accepted finding; file, rule and name are for
// the reader, only the fingerprint is matched.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	File        string `json:"file"`
	Name        string `json:"name,omitempty"`
}

const baselineVersion = 1

// NewBaseline records findings under keyer's key.
func NewBaseline(k *Keyer, findings []Finding) *Baseline {
	b := &Baseline{Version: baselineVersion, KeyID: k.ID(), Entries: []BaselineEntry{}}
	seen := map[string]bool{}
	for _, f := range findings {
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
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

// LoadBaseline reads a baseline file and checks it was made with keyer's key.
func LoadBaseline(path string, k *Keyer) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading baseline", "", err)
	}
	var b Baseline
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fault.New(fault.BadInput, "parsing baseline", path, err)
	}
	if b.Version != baselineVersion {
		return nil, fault.New(fault.BadInput, "parsing baseline", path, fmt.Errorf("version %d is not supported (want %d)", b.Version, baselineVersion))
	}
	if b.KeyID != k.ID() {
		e := fault.New(fault.BadInput, "using baseline", path, fmt.Errorf("it was written with another fingerprint key (key_id %s, this key is %s)", b.KeyID, k.ID()))
		e.Hint = "use the key the baseline was written with (--key-file or " + KeyEnv + "), or write a new baseline"
		return nil, e
	}
	return &b, nil
}

// Filter returns the findings whose fingerprint is not in the baseline.
func (b *Baseline) Filter(findings []Finding) []Finding {
	known := make(map[string]bool, len(b.Entries))
	for _, e := range b.Entries {
		known[e.Fingerprint] = true
	}
	var out []Finding
	for _, f := range findings {
		if !known[f.Fingerprint] {
			out = append(out, f)
		}
	}
	return out
}

// Write stores the baseline atomically.
func (b *Baseline) Write(path string) error {
	var data bytes.Buffer
	if err := command.WriteJSON(&data, b); err != nil {
		return err
	}
	if err := safefile.Write(path, data.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing baseline: %w", err)
	}
	return nil
}
