package syspkg

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// skipDirs are never read: version control, virtualenvs, build output and
// fixtures (testdata holds files the tools read, not code that runs).
var skipDirs = map[string]bool{".git": true, "bin": true, "node_modules": true, "testdata": true, "__pycache__": true}

// Scan finds every use of an external program under root: Go files,
// testscripts, shell scripts (by their #! line), the Makefile and Python
// files. Paths in the uses are relative to root.
func Scan(root string) ([]Use, error) {
	var uses []Use
	goFiles := map[string]map[string][]byte{} // directory → file → source
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if path != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".venv")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		var more []Use
		switch {
		case strings.HasSuffix(path, ".go"):
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			dir := filepath.Dir(rel)
			if goFiles[dir] == nil {
				goFiles[dir] = map[string][]byte{}
			}
			goFiles[dir][rel] = src
		case strings.HasSuffix(path, ".txtar") && filepath.Dir(rel) == "testscripts":
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if more, err = FromTestscript(rel, src); err != nil {
				return err
			}
		case rel == "Makefile":
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if more, err = FromMakefile(rel, src); err != nil {
				return err
			}
		case strings.HasSuffix(path, ".py"):
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			more = FromPython(rel, src)
		default:
			src, err := readShell(path)
			if err != nil || src == nil {
				return err
			}
			if more, err = FromShell(rel, src, 0); err != nil {
				return err
			}
		}
		uses = append(uses, more...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	dirs := make([]string, 0, len(goFiles))
	for d := range goFiles {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		more, err := FromGo(goFiles[d])
		if err != nil {
			return nil, err
		}
		uses = append(uses, more...)
	}
	sort.SliceStable(uses, func(i, j int) bool {
		if uses[i].File != uses[j].File {
			return uses[i].File < uses[j].File
		}
		return uses[i].Line < uses[j].Line
	})
	return uses, nil
}

// readShell returns the file's content when its #! line names sh or bash,
// else nil.
func readShell(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	first, _, _ := bytes.Cut(head[:n], []byte("\n"))
	if !isShellShebang(string(first)) {
		return nil, nil
	}
	return os.ReadFile(path)
}

func isShellShebang(line string) bool {
	switch strings.TrimSpace(line) {
	case "#!/bin/sh", "#!/bin/bash", "#!/usr/bin/env bash", "#!/usr/bin/env sh", "#!/usr/bin/sh", "#!/usr/bin/bash":
		return true
	}
	return false
}
