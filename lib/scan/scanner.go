package scan

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/vaultpipe/vaultpipe/lib/dotenv"
)

// DefaultMaxFileSize bounds what is read whole into memory for the .env and
// env-ref detectors; larger files are streamed through the Engine only.
const DefaultMaxFileSize = 8 << 20

// skipDirs are never walked into: VCS metadata, dependencies vendored or
// installed into the tree, caches.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, ".bzr": true,
	"vendor": true, "node_modules": true, "bower_components": true,
	".venv": true, "venv": true, "site-packages": true, "__pycache__": true,
	".tox": true, ".nox": true, ".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true,
}

// Scanner scans files and trees. Its zero value is not usable: set Engine
// and Keyer.
type Scanner struct {
	Engine Engine
	Keyer  *Keyer
	// All also reports plain configuration entries and env-var reads of
	// non-secret names (confidence none).
	All bool
	// EnvHelper, when set (HelperPattern), finds the project's own
	// env-reading helpers in Python and JavaScript/TypeScript files.
	EnvHelper *EnvHelper
	// Workers is the number of files scanned at once (default 2×GOMAXPROCS).
	Workers     int
	MaxFileSize int64

	files, bytes atomic.Int64
}

// Progress returns how many files and bytes have been scanned so far.
func (s *Scanner) Progress() (files, bytes int64) { return s.files.Load(), s.bytes.Load() }

// Source is one file to scan: its reported path and how to open it.
type Source struct {
	Path string
	Open func() (io.ReadCloser, error)
}

// FileError is a file that could not be scanned (fully).
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Result is what a scan found.
type Result struct {
	Findings []Finding
	// Errors are files that could not be read; the rest of the tree was
	// still scanned.
	Errors []error
	// Notices are lines skipped and files not (fully) scanned.
	Notices []Notice
}

// Notice is something a scan did not do fully: a .env line it skipped
// (Line > 0) or a file one of its detectors did not read (Line 0). It never
// holds any text of the file.
type Notice struct {
	File    string
	Line    int
	Message string
}

func (n Notice) String() string {
	if n.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", n.File, n.Line, n.Message)
	}
	return n.File + ": " + n.Message
}

// ScanPaths scans files and directory trees. Directories are walked in
// parallel, skipping VCS metadata, vendored dependencies, symlinks and
// what the engine's allowlist excludes; named files are always scanned.
func (s *Scanner) ScanPaths(ctx context.Context, paths []string) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srcs := make(chan Source, 64)
	var walkErr error
	go func() {
		defer close(srcs)
		for _, p := range paths {
			if err := s.walk(ctx, p, srcs); err != nil {
				walkErr = err
				cancel()
				return
			}
		}
	}()
	res := s.ScanSources(ctx, srcs)
	if walkErr != nil {
		return nil, walkErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Scanner) walk(ctx context.Context, root string, out chan<- Source) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("scanning %s: %w", root, errors.Unwrap(err))
	}
	send := func(p string) error {
		rel := filepath.ToSlash(filepath.Clean(p))
		select {
		case out <- Source{Path: rel, Open: func() (io.ReadCloser, error) { return os.Open(p) }}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("scanning %s: not a regular file", root)
		}
		return send(root)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable directories are skipped, as gitleaks does
		}
		rel := filepath.ToSlash(filepath.Clean(p))
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || s.Engine.Skip(rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || s.Engine.Skip(rel) {
			return nil
		}
		return send(p)
	})
}

// ScanSources scans every source received until srcs is closed.
func (s *Scanner) ScanSources(ctx context.Context, srcs <-chan Source) *Result {
	workers := s.Workers
	if workers <= 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	var (
		mu  sync.Mutex
		res Result
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64<<10)
			for src := range srcs {
				if ctx.Err() != nil {
					continue
				}
				fs, notes, err := s.scanOne(ctx, src, &buf)
				mu.Lock()
				res.Findings = append(res.Findings, fs...)
				res.Notices = append(res.Notices, notes...)
				if err != nil && ctx.Err() == nil {
					res.Errors = append(res.Errors, &FileError{Path: src.Path, Err: err})
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	Sort(res.Findings)
	slices.SortFunc(res.Notices, func(a, b Notice) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	return &res
}

// IsDotenvName reports whether a file name is a .env file: .env, .env.*, *.env.
func IsDotenvName(name string) bool {
	base := path.Base(name)
	return base == ".env" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env")
}

// isBinary says whether the first bytes of a file look like a binary.
func isBinary(head []byte) bool { return bytes.IndexByte(head, 0) >= 0 }

func (s *Scanner) scanOne(ctx context.Context, src Source, buf *[]byte) ([]Finding, []Notice, error) {
	f, err := src.Open()
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	max := s.MaxFileSize
	if max <= 0 {
		max = DefaultMaxFileSize
	}
	// read up to max+1 bytes: small files are handled in memory
	b := (*buf)[:0]
	n, err := readUpTo(f, &b, max+1)
	*buf = b[:0]
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, nil
	}
	s.files.Add(1)
	var findings []Finding
	found := func(sec Secret) {
		findings = append(findings, Finding{
			File: src.Path, Line: sec.Line, Column: sec.Column, Kind: KindSecret,
			Rule: sec.Rule, Name: sec.Name, Confidence: High,
			Fingerprint: s.Keyer.Sum(sec.Rule, sec.Value), description: sec.Description,
		})
	}
	if int64(n) > max {
		// too big to hold: stream the rest through the engine only
		r := io.MultiReader(bytes.NewReader(b), f)
		cr := &countReader{r: r}
		err := s.Engine.ScanReader(ctx, src.Path, cr, found)
		s.bytes.Add(cr.n)
		var notes []Notice
		if IsDotenvName(src.Path) || EnvRefKind(src.Path) != "" {
			notes = append(notes, Notice{File: src.Path, Message: fmt.Sprintf("larger than %d bytes: scanned for hard-coded secrets only", max)})
		}
		return findings, notes, err
	}
	s.bytes.Add(int64(n))
	if err := s.Engine.Scan(ctx, src.Path, b, found); err != nil {
		return findings, nil, err
	}
	if isBinary(b[:min(n, 8000)]) {
		// the engine decides on binaries itself (path rules match them)
		return findings, nil, nil
	}
	var notes []Notice
	if IsDotenvName(src.Path) {
		if IsDiff(b) {
			notes = append(notes, Notice{File: src.Path, Message: "a diff, not read as a .env file (scanned for hard-coded secrets only)"})
		} else {
			dfs, spans, bad := s.dotenvFindings(src.Path, b)
			findings = mergeDotenv(findings, dfs, spans)
			notes = append(notes, bad...)
		}
	}
	if kind := EnvRefKind(src.Path); kind != "" {
		engineLines := map[int]bool{}
		for _, f := range findings {
			engineLines[f.Line] = true
		}
		refs := FindEnvRefs(kind, b)
		if s.EnvHelper != nil && (kind == "python" || kind == "javascript") {
			refs = append(refs, FindHelperRefs(s.EnvHelper, b)...)
		}
		for _, r := range refs {
			if r.HasValue && engineLines[r.Line] {
				// the engine already reported the literal value set here
				continue
			}
			if f, ok := s.envRefFinding(src.Path, r); ok {
				findings = append(findings, f)
			}
		}
	}
	return findings, notes, nil
}

func readUpTo(r io.Reader, b *[]byte, limit int64) (int, error) {
	buf := *b
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if int64(len(room)) > limit-int64(len(buf)) {
			room = room[:limit-int64(len(buf))]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*b = buf
			return len(buf), err
		}
	}
	*b = buf
	return len(buf), nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// IsDiff reports whether content is a diff or patch (a unified or git
// diff): its + and - lines are not .env entries.
func IsDiff(content []byte) bool {
	head := content[:min(len(content), 64<<10)]
	if bytes.HasPrefix(head, []byte("diff --git ")) || bytes.Contains(head, []byte("\ndiff --git ")) {
		return true
	}
	for _, marker := range [][]byte{[]byte("--- "), []byte("+++ "), []byte("@@ -")} {
		if !bytes.HasPrefix(head, marker) && !bytes.Contains(head, append([]byte("\n"), marker...)) {
			return false
		}
	}
	return true
}

// entrySpan is the lines a .env entry covers.
type entrySpan struct {
	line, endLine int
	key           string
}

// dotenvFindings classifies every entry of a .env file. A malformed line is
// skipped with a notice naming its line only: the parser's message may quote
// it, and it can be a secret pasted without its key.
func (s *Scanner) dotenvFindings(name string, src []byte) ([]Finding, []entrySpan, []Notice) {
	f, errs := dotenv.ParseLenient(name, src)
	var notes []Notice
	for _, e := range errs {
		notes = append(notes, Notice{File: name, Line: e.Line, Message: "not a .env entry (KEY=VALUE): line skipped"})
	}
	lines := splitLines(src)
	var (
		out   []Finding
		spans []entrySpan
	)
	for _, e := range f.Entries {
		spans = append(spans, entrySpan{e.Line, max(e.EndLine, e.Line), e.Key})
		if allowed(lineAt(lines, e.Line)) {
			continue
		}
		class, conf := Classify(e.Key, e.Value)
		if conf == None && !s.All {
			continue
		}
		column := e.Column
		if l := lineAt(lines, e.Line); column-1 <= len(l) && column >= 1 {
			column = utf8.RuneCountInString(l[:column-1]) + 1
			if e.Quote != dotenv.Bare {
				column++
			}
		}
		rule := "dotenv-" + string(class)
		out = append(out, Finding{
			File: name, Line: e.Line, Column: column, Kind: KindDotenv, Rule: rule, Name: e.Key,
			Confidence: conf, Fingerprint: s.Keyer.Sum(rule, e.Value),
			description: ".env value: " + classDescriptions[class],
		})
	}
	return out, spans, notes
}

func lineAt(lines []string, n int) string {
	if n >= 1 && n <= len(lines) {
		l := lines[n-1]
		if n == 1 {
			l = strings.TrimPrefix(l, "\xef\xbb\xbf")
		}
		return l
	}
	return ""
}

// mergeDotenv makes an engine finding inside a .env entry a dotenv finding
// of that key (keeping the engine's more specific rule), and drops the
// entry's own classification then.
func mergeDotenv(engine, dot []Finding, spans []entrySpan) []Finding {
	covered := map[int]bool{} // by the entry's first line: a key may be set twice
	var out []Finding
	for _, f := range engine {
		i := slices.IndexFunc(spans, func(sp entrySpan) bool { return f.Line >= sp.line && f.Line <= sp.endLine })
		if i >= 0 {
			if covered[spans[i].line] {
				continue // one entry, one finding
			}
			f.Kind = KindDotenv
			f.Name = spans[i].key
			covered[spans[i].line] = true
		}
		out = append(out, f)
	}
	for _, d := range dot {
		if !covered[d.Line] {
			out = append(out, d)
		}
	}
	return out
}

// interpDefault matches a whole ${X:-default} (or ${X-default}, ${X:=…}).
var interpDefault = regexp.MustCompile(`^\$\{` + envName + `:?[-=]([^}]*)\}$`)

func (s *Scanner) envRefFinding(file string, r EnvRef) (Finding, bool) {
	var (
		conf    Confidence
		secret  = r.Name
		literal bool
	)
	value := r.Value
	if m := interpDefault.FindStringSubmatch(value); m != nil {
		value = m[1] // ${X:-default}: the default is written here
	}
	switch {
	case r.File:
		conf = None
	case r.HasValue && value != "" && !IsReference(value):
		var class Class
		class, conf = Classify(r.Name, value)
		if conf != None && class != ClassConfig {
			secret, literal = value, true
		}
	default:
		switch ClassifyName(r.Name) {
		case ClassPassword, ClassToken, ClassSecret, ClassPrivateKey:
			conf = High
		case ClassKey, ClassCredential, ClassDSN:
			conf = Medium
		default:
			conf = None
		}
	}
	if conf == None && !s.All {
		return Finding{}, false
	}
	return Finding{
		File: file, Line: r.Line, Column: r.Column, Kind: KindEnvRef, Rule: r.Rule, Name: r.Name,
		Confidence: conf, Fingerprint: s.Keyer.Sum(r.Rule, secret), description: envRefDescriptions[r.Rule],
		literal: literal,
	}, true
}
