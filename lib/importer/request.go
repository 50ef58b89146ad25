package importer

import (
	"errors"
	"io"
	"path/filepath"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Request is what env-import was asked to import: .env files and the keys
// of env-scan findings mapped by the mapping flags, or a saved plan.
type Request struct {
	Files []string
	// Scan, when set, is env-scan's JSON lines: the keys of its dotenv
	// findings are imported too.
	Scan io.Reader
	// PlanFile, when set, is a plan printed by env-import plan to carry out
	// instead ("-": read from Stdin); then no Files, Scan or mapping may be
	// given.
	PlanFile string
	Stdin    io.Reader

	Mount, Template, App, Env string
	Maps                      []string // FILE=PATH
	Renames                   []string // OLD=NEW
	Layout                    Layout
	Only, Skip                []string
	Update                    bool
	Concurrency               int
}

// Input is a Request resolved: what Load reads and where it puts each key.
type Input struct {
	Sources []Source
	Targets Targeter
	// Plan is the saved plan, when the request named one; Batch.Hold
	// checks it against what is observed.
	Plan    *Document
	Options Options
}

// Resolve reads the plan file or the scan stream and builds the mapping.
// Flags that contradict each other are usage errors; a plan or scan
// stream that does not parse is bad input.
func (r Request) Resolve() (*Input, error) {
	in := &Input{Options: Options{Only: r.Only, Skip: r.Skip, Update: r.Update, Concurrency: r.Concurrency}}
	if r.PlanFile != "" {
		if len(r.Files) > 0 || r.Scan != nil {
			return nil, fault.Usagef("--plan carries out a saved plan: give no files and no --from-scan")
		}
		var src io.Reader = r.Stdin
		if r.PlanFile != "-" {
			f, err := safefile.Open(r.PlanFile)
			if err != nil {
				return nil, fault.New(fault.BadInput, "reading the plan", r.PlanFile, errors.Unwrap(err))
			}
			defer f.Close()
			src = f
		}
		plan, err := ReadPlan(src)
		if err != nil {
			return nil, fault.New(fault.BadInput, "", r.PlanFile, err)
		}
		in.Sources, in.Targets, in.Plan = plan.Sources(), plan, plan
		// The plan decides what may be replaced; Hold enforces it.
		in.Options.Only, in.Options.Skip, in.Options.Update = nil, nil, true
		return in, nil
	}
	m, err := r.mapping()
	if err != nil {
		return nil, err
	}
	in.Targets = m
	for _, f := range r.Files {
		in.Sources = append(in.Sources, Source{File: f})
	}
	if r.Scan != nil {
		fromScan, err := ReadScan(r.Scan)
		if err != nil {
			return nil, fault.New(fault.BadInput, "", "", err)
		}
		in.Sources = append(in.Sources, fromScan...)
	} else if len(in.Sources) == 0 {
		return nil, fault.Usagef("no .env files given (and no --from-scan)")
	}
	return in, nil
}

func (r Request) mapping() (Mapping, error) {
	rename, err := ParsePairs("rename", r.Renames)
	if err != nil {
		return Mapping{}, fault.Usagef("%v", err)
	}
	paths, err := ParsePairs("map", r.Maps)
	if err != nil {
		return Mapping{}, fault.Usagef("%v", err)
	}
	clean := map[string]string{}
	for f, p := range paths {
		clean[filepath.Clean(f)] = p
	}
	return Mapping{
		Mount: r.Mount, Template: r.Template, App: r.App, Env: r.Env,
		Paths: clean, Layout: r.Layout, Rename: rename,
	}, nil
}
