package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/dotenv"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// rewrite replaces (or removes) every verified key in its file. A file is
// first copied to a 0600 backup; the rewritten file is then read again and
// each reference in it resolved against Vault; only when every value matches
// the original is the backup removed. Keys that were not verified keep
// their value.
func (b *Batch) rewrite(ctx context.Context, c *vaultclient.Client, o ApplyOptions) ([]FileResult, error) {
	var results []FileResult
	for _, f := range b.sortedFiles() {
		var done []*Item
		for _, it := range b.Items {
			if it.File == f.name && it.Verified {
				done = append(done, it)
			}
		}
		if len(done) == 0 {
			results = append(results, FileResult{File: f.name, Change: "unchanged"})
			continue
		}
		res, err := rewriteFile(ctx, c, f, done, o)
		results = append(results, res)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func rewriteFile(ctx context.Context, c *vaultclient.Client, f *envFile, done []*Item, o ApplyOptions) (FileResult, error) {
	res := FileResult{File: f.name, Change: "unchanged"}
	target, err := filepath.EvalSymlinks(f.name)
	if err != nil {
		return res, fault.New(fault.BadInput, "rewriting", f.name, errors.Unwrap(err))
	}
	now, err := safefile.Read(target, maxEnvFile)
	if err != nil {
		return res, fault.New(fault.BadInput, "rewriting", f.name, errors.Unwrap(err))
	}
	if !bytes.Equal(now, f.src) {
		return res, fault.New(fault.Conflict, "rewriting", f.name, errors.New("the file changed while importing; it was not rewritten"))
	}
	doc, err := dotenv.Parse(f.name, f.src)
	if err != nil {
		return res, fault.New(fault.BadInput, "", "", err)
	}
	for _, it := range done {
		if o.Remove {
			err = doc.Remove(it.Key)
		} else {
			err = doc.Set(it.Key, it.Ref)
		}
		if err != nil {
			return res, fault.New(fault.BadInput, "rewriting", f.name, err)
		}
	}
	out := doc.Bytes()

	backup, err := writeBackup(target, f.src)
	if err != nil {
		return res, fault.New(fault.Unknown, "backing up", f.name, err)
	}
	res.Backup = backup
	if err := safefile.Write(target, out, f.mode); err != nil {
		return res, fault.New(fault.Unknown, "rewriting", f.name, err)
	}
	if err := checkRewritten(ctx, c, concurrency(o.Concurrency), target, f, out, done, o.Remove); err != nil {
		// Put the original back; the backup stays too.
		if rerr := safefile.Write(target, f.src, f.mode); rerr != nil {
			return res, fault.WithHint(err, "the original is in "+backup)
		}
		return res, fault.WithHint(err, "the file was restored; a copy of the original is in "+backup)
	}
	for _, it := range done {
		if o.Remove {
			it.FileChange = "removed"
		} else {
			it.FileChange = "reference"
		}
	}
	res.Change, res.Keys = "rewritten", len(done)
	if !o.KeepBackup {
		if err := os.Remove(backup); err != nil {
			return res, fault.New(fault.Unknown, "removing backup", backup, errors.Unwrap(err))
		}
		res.Backup = ""
	}
	return res, nil
}

// writeBackup copies src next to target, mode 0600, under a name no other
// file has.
func writeBackup(target string, src []byte) (string, error) {
	stamp := time.Now().UTC().Format("20060102T150405Z")
	for n := 0; ; n++ {
		name := target + ".env-import-" + stamp + ".bak"
		if n > 0 {
			name = target + ".env-import-" + stamp + "-" + strconv.Itoa(n) + ".bak"
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, werr := f.Write(src)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			os.Remove(name)
			return "", err
		}
		return name, nil
	}
}

// checkRewritten reads the rewritten file back: every entry must be what the
// original said, except the migrated ones, which must be references (or
// gone) that resolve in Vault to the original value.
func checkRewritten(ctx context.Context, c *vaultclient.Client, par int, file string, f *envFile, want []byte, done []*Item, removed bool) error {
	got, err := os.ReadFile(file)
	if err != nil {
		return fault.New(fault.Unknown, "reading back", f.name, errors.Unwrap(err))
	}
	if !bytes.Equal(got, want) {
		return fault.New(fault.Unknown, "reading back", f.name, errors.New("the file on disk is not what was written"))
	}
	doc, err := dotenv.Parse(f.name, got)
	if err != nil {
		return fault.New(fault.Unknown, "reading back", f.name, err)
	}
	migrated := map[string]*Item{}
	for _, it := range done {
		migrated[it.Key] = it
	}
	for _, e := range f.doc.Entries {
		now, ok := doc.Lookup(e.Key)
		it := migrated[e.Key]
		switch {
		case it != nil && removed:
			if ok {
				return fault.New(fault.Unknown, "reading back", f.name, fmt.Errorf("key %s is still there", e.Key))
			}
		case it != nil:
			if !ok || now.Value != it.Ref {
				return fault.New(fault.Unknown, "reading back", f.name, fmt.Errorf("key %s does not hold its reference", e.Key))
			}
		default:
			if !ok || now.Value != e.Value {
				return fault.New(fault.Unknown, "reading back", f.name, fmt.Errorf("key %s was not to change but did", e.Key))
			}
		}
	}
	// Resolve the references against Vault, one read per secret.
	type target struct{ mount, path string }
	var targets []target
	byTarget := map[target][]*Item{}
	for _, it := range done {
		t := target{it.Mount, it.Path}
		if _, ok := byTarget[t]; !ok {
			targets = append(targets, t)
		}
		byTarget[t] = append(byTarget[t], it)
	}
	return forEach(ctx, par, len(targets), func(ctx context.Context, i int) error {
		st, err := readState(ctx, c, targets[i].mount, targets[i].path)
		if err != nil {
			return err
		}
		for _, it := range byTarget[targets[i]] {
			if !equal(st.data[it.Field], it.value) {
				return fault.New(fault.Conflict, "resolving", it.Ref, errors.New("vault no longer holds the imported value"))
			}
		}
		return nil
	})
}
