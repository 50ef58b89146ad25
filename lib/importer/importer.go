// Package importer holds the logic of env-import: it maps the keys of .env
// files to KV v2 fields, compares them with what Vault holds (the plan),
// writes them with check-and-set and verifies them by reading back (apply),
// and rewrites the files to hold references instead of values.
//
// Values never leave this package except in request bodies to Vault: plans
// and reports show a value's length and an HMAC under a key made for the
// run, which is enough to tell two values apart within one run and useless
// to anyone guessing a short value.
package importer

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/vaultpipe/vaultpipe/lib/dotenv"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/ref"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Action is what the plan intends for one key.
type Action string

const (
	Create    Action = "create"    // the field does not exist in Vault yet
	Update    Action = "update"    // it exists with another value and --update was given
	Unchanged Action = "unchanged" // Vault already holds this value
	Conflict  Action = "conflict"  // it cannot be written; Reason says why
	Skip      Action = "skip"      // not imported (already a reference, empty, not selected)
)

// Status is what apply did with one key.
type Status string

const (
	Created      Status = "created"
	Updated      Status = "updated"
	StatusSame   Status = "unchanged"
	Conflicted   Status = "conflict"
	Skipped      Status = "skipped"
	Failed       Status = "failed"        // a read-back differed
	NotAttempted Status = "not_attempted" // the run stopped before reaching it
)

// Item is one key of one .env file: where it goes, what the plan intends
// and, after apply, what happened. It never holds the value.
type Item struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Key    string `json:"key"`
	Mount  string `json:"mount"`
	Path   string `json:"path"`
	Field  string `json:"field"`
	Ref    string `json:"ref"`
	Action Action `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Version is the current version of Path when it was read (0: none).
	Version     int    `json:"version"`
	ValueLength int    `json:"value_length"`
	ValueHMAC   string `json:"value_hmac"`

	// Filled by apply.
	Status         Status `json:"status,omitempty"`
	WrittenVersion int    `json:"written_version,omitempty"`
	Verified       bool   `json:"verified,omitempty"`
	FileChange     string `json:"file_change,omitempty"` // "reference" or "removed"

	value string
}

// Source is one .env file to import and the keys to take from it (nil: all).
type Source struct {
	File string
	Keys []string
}

// Options select and map keys.
type Options struct {
	Mapping Mapping
	// Only and Skip are key globs (path.Match syntax).
	Only, Skip []string
	// Update allows replacing a field that holds another value.
	Update bool
	// Concurrency is the number of requests in flight (default 32).
	Concurrency int
}

// Targeter decides where a key is stored: a Mapping, or a loaded plan.
type Targeter interface {
	Target(file, key string) (ref.Ref, error)
}

type envFile struct {
	name string
	src  []byte
	mode os.FileMode
	doc  *dotenv.File
}

// Batch is a set of items with their values, read from .env files.
type Batch struct {
	Items    []*Item
	Warnings []string
	files    map[string]*envFile
	order    []string
	hmacKey  []byte
	observed map[string]pathState // by mount and path, from Observe
}

// Load parses the sources and maps their keys with t. A file that does not
// parse, a key that a source names but the file lacks, or two keys landing
// on the same field are errors; nothing is read from Vault yet.
func Load(sources []Source, t Targeter, o Options) (*Batch, error) {
	b := &Batch{Items: []*Item{}, files: map[string]*envFile{}, hmacKey: make([]byte, 32)}
	if _, err := rand.Read(b.hmacKey); err != nil {
		return nil, err
	}
	for _, pat := range append(append([]string{}, o.Only...), o.Skip...) {
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fault.Usagef("bad key pattern %q: %v", pat, err)
		}
	}
	seen := map[string]*Item{}  // ref → item
	loaded := map[string]bool{} // file and key
	for _, s := range sources {
		name := filepath.Clean(s.File)
		f, ok := b.files[name]
		if !ok {
			var err error
			if f, err = readEnvFile(name); err != nil {
				return nil, err
			}
			b.files[name] = f
			b.order = append(b.order, name)
			for _, w := range f.doc.Warnings {
				b.Warnings = append(b.Warnings, fmt.Sprintf("%s:%d: %s", name, w.Line, w.Message))
			}
		}
		keys := s.Keys
		if keys == nil {
			for _, e := range f.doc.Entries {
				keys = append(keys, e.Key)
			}
		}
		for _, k := range keys {
			e, ok := f.doc.Lookup(k)
			if !ok {
				return nil, fault.New(fault.BadInput, "", name, fmt.Errorf("no key %s in the file", k))
			}
			if loaded[name+"\x00"+k] {
				continue
			}
			loaded[name+"\x00"+k] = true
			it := &Item{File: name, Line: e.Line, Key: k, value: e.Value, ValueLength: len(e.Value)}
			it.ValueHMAC = b.mac(e.Value)
			switch {
			case !selected(k, o.Only, o.Skip):
				it.Action, it.Reason = Skip, "not selected by --only/--skip"
			case ref.IsRef(e.Value):
				it.Action, it.Reason = Skip, "already a reference"
			case e.Value == "":
				it.Action, it.Reason = Skip, "empty value"
			}
			r, err := t.Target(name, k)
			if err != nil {
				if it.Action == Skip {
					b.Items = append(b.Items, it)
					continue
				}
				return nil, fault.New(fault.BadInput, "", "", err)
			}
			it.Mount, it.Path, it.Field, it.Ref = r.Mount, r.Path, r.Key, r.String()
			if it.Action != Skip {
				if other, dup := seen[it.Ref]; dup {
					return nil, fault.New(fault.BadInput, "", "", fmt.Errorf("%s:%d key %s and %s:%d key %s both map to %s: use --map or --rename", other.File, other.Line, other.Key, name, e.Line, k, it.Ref))
				}
				seen[it.Ref] = it
			}
			b.Items = append(b.Items, it)
		}
	}
	return b, nil
}

func selected(key string, only, skip []string) bool {
	match := func(pats []string) bool {
		for _, p := range pats {
			if ok, _ := path.Match(p, key); ok {
				return true
			}
		}
		return false
	}
	if len(only) > 0 && !match(only) {
		return false
	}
	return !match(skip)
}

// maxEnvFile caps a .env file, read whole.
const maxEnvFile = 16 << 20

func readEnvFile(name string) (*envFile, error) {
	f, err := safefile.Open(name)
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading", name, errors.Unwrap(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading", name, errors.Unwrap(err))
	}
	src, err := safefile.ReadAll(f, name, maxEnvFile)
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading", name, errors.Unwrap(err))
	}
	doc, err := dotenv.Parse(name, src)
	if err != nil {
		return nil, fault.New(fault.BadInput, "", "", err)
	}
	return &envFile{name: name, src: src, mode: st.Mode().Perm(), doc: doc}, nil
}

// mac is the short keyed hash shown instead of a value.
func (b *Batch) mac(v string) string {
	h := hmac.New(sha256.New, b.hmacKey)
	io.WriteString(h, v)
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// PlanFormat identifies a plan document.
const PlanFormat = "env-import-plan/1"

// ReportFormat identifies an apply report.
const ReportFormat = "env-import-report/1"

// Document is the JSON that plan and apply print.
type Document struct {
	Format  string         `json:"format"`
	Items   []*Item        `json:"items"`
	Summary map[string]int `json:"summary"`
	Files   []FileResult   `json:"files,omitempty"`
}

// FileResult says what apply did to one .env file.
type FileResult struct {
	File   string `json:"file"`
	Change string `json:"change"` // "rewritten" or "unchanged"
	Keys   int    `json:"keys"`   // entries replaced or removed
	Backup string `json:"backup,omitempty"`
}

// Plan returns the plan document of b (after Observe).
func (b *Batch) Plan() *Document {
	d := &Document{Format: PlanFormat, Items: b.Items, Summary: map[string]int{}}
	for _, a := range []Action{Create, Update, Unchanged, Conflict, Skip} {
		d.Summary[string(a)] = 0
	}
	for _, it := range b.Items {
		d.Summary[string(it.Action)]++
	}
	return d
}

// HasConflicts reports whether any item is in conflict.
func (d *Document) HasConflicts() bool {
	for _, it := range d.Items {
		if it.Action == Conflict || it.Status == Conflicted {
			return true
		}
	}
	return false
}

// ReadPlan reads a plan document written by plan. It is input from a file a
// user may have edited: every item is checked.
func ReadPlan(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the plan: %w", err)
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("reading the plan: %s", jsonProblem(err))
	}
	if d.Format != PlanFormat {
		return nil, fmt.Errorf("reading the plan: format is %q, want %q (a plan printed by env-import plan)", d.Format, PlanFormat)
	}
	seen := map[string]bool{}
	for i, it := range d.Items {
		if it == nil {
			return nil, fmt.Errorf("reading the plan: item %d is null", i+1)
		}
		switch it.Action {
		case Create, Update, Unchanged, Conflict, Skip:
		default:
			return nil, fmt.Errorf("reading the plan: item %d has an unknown action", i+1)
		}
		if it.File == "" || !dotenv.ValidKey(it.Key) {
			return nil, fmt.Errorf("reading the plan: item %d needs a file and a valid key", i+1)
		}
		if k := it.File + "\x00" + it.Key; seen[k] {
			return nil, fmt.Errorf("reading the plan: item %d repeats %s key %s", i+1, it.File, it.Key)
		} else {
			seen[k] = true
		}
		if it.Action == Skip {
			continue
		}
		r, err := ref.New(it.Mount, it.Path, it.Field)
		if err != nil || r.String() != it.Ref {
			return nil, fmt.Errorf("reading the plan: item %d (%s key %s) has an invalid or inconsistent mount, path, field or ref", i+1, it.File, it.Key)
		}
		if it.Version < 0 || it.ValueLength < 0 {
			return nil, fmt.Errorf("reading the plan: item %d (%s key %s) has a negative version or length", i+1, it.File, it.Key)
		}
	}
	return &d, nil
}

// Sources returns the files and keys a plan covers, in plan order.
func (d *Document) Sources() []Source {
	var out []Source
	index := map[string]int{}
	for _, it := range d.Items {
		if it.Action == Skip {
			continue
		}
		i, ok := index[it.File]
		if !ok {
			i = len(out)
			index[it.File] = i
			out = append(out, Source{File: it.File, Keys: []string{}})
		}
		out[i].Keys = append(out[i].Keys, it.Key)
	}
	return out
}

// Target implements Targeter: a key goes where the plan said.
func (d *Document) Target(file, key string) (ref.Ref, error) {
	for _, it := range d.Items {
		if it.File == file && it.Key == key && it.Action != Skip {
			return ref.New(it.Mount, it.Path, it.Field)
		}
	}
	return ref.Ref{}, fmt.Errorf("%s key %s is not in the plan", file, key)
}

// Hold compares b (observed now) with the plan d it is about to carry out.
// An item whose target, version, value length or action differs from what
// the plan saw becomes a conflict: apply never writes what was not planned.
func (b *Batch) Hold(d *Document) {
	planned := map[string]*Item{}
	for _, it := range d.Items {
		planned[it.File+"\x00"+it.Key] = it
	}
	for _, it := range b.Items {
		p := planned[it.File+"\x00"+it.Key]
		switch {
		case p == nil || it.Action == Skip:
			continue
		case p.Action == Conflict:
			it.Action, it.Reason = Conflict, "in conflict in the plan: "+p.Reason
		case p.Ref != it.Ref:
			it.Action, it.Reason = Conflict, "the plan maps it elsewhere"
		case p.Version != it.Version:
			it.Action, it.Reason = Conflict, fmt.Sprintf("changed by another writer since the plan (plan saw version %d, now %d)", p.Version, it.Version)
		case p.ValueLength != it.ValueLength:
			it.Action, it.Reason = Conflict, "the .env value changed since the plan"
		case p.Action != it.Action:
			it.Action, it.Reason = Conflict, fmt.Sprintf("the plan said %s, it is now %s", p.Action, it.Action)
		}
	}
}

// sortedFiles returns the loaded files in the order they were given.
func (b *Batch) sortedFiles() []*envFile {
	out := make([]*envFile, 0, len(b.order))
	for _, n := range b.order {
		out = append(out, b.files[n])
	}
	return out
}

func summaryOf(items []*Item) map[string]int {
	m := map[string]int{}
	for _, s := range []Status{Created, Updated, StatusSame, Conflicted, Skipped, Failed, NotAttempted} {
		m[string(s)] = 0
	}
	for _, it := range items {
		m[string(it.Status)]++
	}
	return m
}
