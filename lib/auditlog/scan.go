package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fastjson"
)

// Source is one audit log to read: a file, or a stream such as stdin.
type Source struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// FileSource reads the file at path.
func FileSource(path string) Source {
	return Source{Name: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// ReaderSource reads r (which it does not close).
func ReaderSource(name string, r io.Reader) Source {
	return Source{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(r), nil }}
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Decompress returns r's content, decoded when it starts as a gzip or zstd
// stream does (whatever the file is called), and a function to release it.
func Decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, zstdMagic):
		d, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(256<<20), zstd.WithDecoderLowmem(false))
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	case bytes.HasPrefix(magic, gzipMagic):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	}
	return br, func() {}, nil
}

var (
	numbered = regexp.MustCompile(`\.log\.(\d+)$`)     // logrotate: audit.log.1 (newer) … audit.log.9
	stamped  = regexp.MustCompile(`\d{8}(T?\d{4,6})?`) // audit-20261201T194000.123456Z.log
)

// Order sorts the files of a rotated set oldest first: archives with a date
// in their name by name, then logrotate's numbered ones (highest number
// first), then live logs. Compression suffixes are ignored.
func Order(paths []string) []string {
	type key struct {
		class int
		num   int
		name  string
	}
	keys := make(map[string]key, len(paths))
	for _, p := range paths {
		b := filepath.Base(p)
		b = strings.TrimSuffix(strings.TrimSuffix(b, ".zst"), ".gz")
		k := key{class: 2, name: b}
		if m := numbered.FindStringSubmatch(b); m != nil {
			n, _ := strconv.Atoi(m[1])
			k = key{class: 1, num: -n, name: b}
		} else if stamped.MatchString(b) {
			k.class = 0
		}
		keys[p] = k
	}
	out := append([]string(nil), paths...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := keys[out[i]], keys[out[j]]
		if a.class != b.class {
			return a.class < b.class
		}
		if a.num != b.num {
			return a.num < b.num
		}
		return a.name < b.name
	})
	return out
}

// Options tune Scan.
type Options struct {
	Workers   int  // decoding goroutines (default GOMAXPROCS)
	ChunkSize int  // bytes per chunk (default 1 MiB)
	MaxLine   int  // longest line accepted (default 64 MiB)
	Entries   bool // pass the parsed Entry of each hit (else Hit.Entry is nil)
}

// Hit is a matching line. Raw is only valid during the emit call.
type Hit struct {
	Source string
	Line   int
	Raw    []byte
	Entry  *Entry
}

// Problem is a line (or a stream) that could not be read; it was skipped.
type Problem struct {
	Source string
	Line   int
	Err    error
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", p.Source, p.Line, p.Err)
	}
	return fmt.Sprintf("%s: %v", p.Source, p.Err)
}

// Result counts what Scan read.
type Result struct {
	Lines     int64 `json:"lines"`
	Matched   int64 `json:"matched"`
	Malformed int64 `json:"malformed"` // lines skipped: malformed, over-long, unreadable
	// FirstSkipped is the first skipped line, FILE:LINE.
	FirstSkipped string `json:"-"`
}

// Incomplete returns an error when lines were skipped: an answer such as
// "nothing matched" then does not hold for them, and an attacker who can
// make Vault write a huge or broken line would otherwise blind the search
// for whatever follows it.
func (r Result) Incomplete() error {
	if r.Malformed == 0 {
		return nil
	}
	return fmt.Errorf("%d audit lines skipped (the first at %s): the answer does not cover them", r.Malformed, r.FirstSkipped)
}

type hit struct {
	off, end int
	line     int
	entry    int // index in chunk.entries, or -1
}

type chunk struct {
	src   int
	buf   []byte
	data  []byte
	final bool // data ends its source; its last line may lack a newline
	done  chan struct{}
	// set by the worker
	lines   int
	hits    []hit
	entries []Entry
	probs   []Problem
	// set by the reader: a stream error after this chunk
	streamErr error
	// long is the length of the one over-long line this chunk stands for
	long int64
}

// Scan reads sources in order and calls emit for each line m matches, in
// input order, and problem for each line it skips (it goes on): one it
// cannot parse, one longer than MaxLine (dropped in bounded memory), one
// the fast path rejects that is not a JSON object at all. Result.Incomplete
// says whether any was skipped.
func Scan(ctx context.Context, sources []Source, m *Matcher, o Options, emit func(*Hit) error, problem func(Problem)) (Result, error) {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1 << 20
	}
	if o.MaxLine <= 0 {
		o.MaxLine = 64 << 20
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	inFlight := 2*o.Workers + 2
	free := make(chan []byte, inFlight)
	for i := 0; i < inFlight; i++ {
		free <- nil
	}
	work := make(chan *chunk, inFlight)
	ordered := make(chan *chunk, inFlight)
	var readErr error

	go func() { // reader
		defer close(work)
		defer close(ordered)
		for si, s := range sources {
			if err := readSource(ctx, si, s, o, free, work, ordered); err != nil {
				readErr = err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < o.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p fastjson.Parser
			for c := range work {
				process(&p, m, o, c)
				close(c.done)
			}
		}()
	}
	defer wg.Wait()

	var (
		res     Result
		base    int
		lastSrc = -1
		emitErr error
		h       Hit
	)
	for c := range ordered {
		<-c.done
		if c.src != lastSrc {
			base, lastSrc = 0, c.src
		}
		name := sources[c.src].Name
		if emitErr == nil {
			for _, p := range c.probs {
				p.Source, p.Line = name, p.Line+base
				res.skipped(p)
				problem(p)
			}
			for _, x := range c.hits {
				h = Hit{Source: name, Line: base + x.line, Raw: c.data[x.off:x.end]}
				if x.entry >= 0 {
					h.Entry = &c.entries[x.entry]
				}
				res.Matched++
				if err := emit(&h); err != nil {
					emitErr = err
					cancel()
					break
				}
			}
			if c.streamErr != nil {
				p := Problem{Source: name, Line: base + c.lines, Err: c.streamErr}
				res.skipped(p)
				problem(p)
			}
		}
		res.Lines += int64(c.lines)
		base += c.lines
		free <- c.buf[:0]
	}
	if emitErr != nil {
		return res, emitErr
	}
	if readErr != nil {
		return res, readErr
	}
	return res, ctx.Err()
}

func (r *Result) skipped(p Problem) {
	if r.Malformed++; r.Malformed == 1 {
		r.FirstSkipped = fmt.Sprintf("%s:%d", p.Source, p.Line)
	}
}

// readSource cuts one source into chunks of whole lines. A stream that
// breaks midway (a truncated .gz) ends with a problem, not an error; a
// source that cannot be opened is an error.
func readSource(ctx context.Context, si int, s Source, o Options, free chan []byte, work, ordered chan *chunk) error {
	rc, err := s.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	r, release, err := Decompress(rc)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	defer release()
	var carry []byte
	send := func(c *chunk) error {
		c.done = make(chan struct{})
		select {
		case work <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case ordered <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	for {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		if cap(buf) < o.ChunkSize {
			buf = make([]byte, 0, o.ChunkSize)
		}
		buf = append(buf[:0], carry...)
		carry = carry[:0]
		var streamErr error
		eof, long := false, false
		for {
			n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				eof = true
				break
			}
			if err != nil {
				streamErr, eof = fmt.Errorf("reading stopped: %w", err), true
				break
			}
			if bytes.IndexByte(buf, '\n') >= 0 {
				break
			}
			if cap(buf) >= o.MaxLine {
				// buf is one line's start: drop the rest of it and go on
				// with the next, in bounded memory.
				n, rest, end, err := discardLine(r, buf)
				c := &chunk{src: si, buf: buf, data: buf[:0], long: int64(len(buf)) + n, final: end, streamErr: err}
				carry = append(carry, rest...)
				if err := send(c); err != nil {
					return err
				}
				if end {
					return nil
				}
				long = true
				break
			}
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		if long {
			continue // the skipped line's chunk returns buf
		}
		c := &chunk{src: si, buf: buf, data: buf, final: eof, streamErr: streamErr}
		if !eof {
			i := bytes.LastIndexByte(buf, '\n')
			carry = append(carry, buf[i+1:]...)
			c.data = buf[:i+1]
		}
		if err := send(c); err != nil {
			return err
		}
		if eof {
			return nil
		}
	}
}

// discardLine reads r up to the end of the current line, reusing scratch,
// and returns how many bytes it dropped, what followed the newline, whether
// the source ended, and a read error.
func discardLine(r io.Reader, scratch []byte) (dropped int64, rest []byte, end bool, err error) {
	scratch = scratch[:cap(scratch)]
	for {
		n, rerr := r.Read(scratch)
		if i := bytes.IndexByte(scratch[:n], '\n'); i >= 0 {
			return dropped + int64(i), append([]byte(nil), scratch[i+1:n]...), false, nil
		}
		dropped += int64(n)
		if rerr == io.EOF {
			return dropped, nil, true, nil
		}
		if rerr != nil {
			return dropped, nil, true, fmt.Errorf("reading stopped: %w", rerr)
		}
	}
}

var errTruncated = errors.New("truncated line (no final newline)")

func process(p *fastjson.Parser, m *Matcher, o Options, c *chunk) {
	if c.long > 0 {
		c.lines = 1
		c.probs = append(c.probs, Problem{Line: 1, Err: fmt.Errorf("a line of %d bytes, over the %d-byte limit: skipped", c.long, o.MaxLine)})
		return
	}
	data := c.data
	// Escapes that may spell a literal otherwise are rare: look once per chunk.
	noEsc := !bytes.Contains(data, []byte(`\u`)) && !bytes.Contains(data, []byte(`\/`))
	var e Entry
	// line handles the n-th line, data[start:end].
	line := func(start, end, n int, unterminated bool) {
		l := data[start:end]
		if len(l) == 0 {
			return
		}
		if !unterminated && m.reject(l, noEsc) {
			// Not parsed, but never skipped unseen: an audit line is one
			// JSON object.
			if l[0] != '{' || l[len(l)-1] != '}' {
				c.probs = append(c.probs, Problem{Line: n, Err: errors.New("malformed audit line: not a JSON object")})
			}
			return
		}
		if err := Parse(p, l, &e); err != nil {
			if unterminated {
				err = fmt.Errorf("%w: %v", errTruncated, err)
			} else {
				err = fmt.Errorf("malformed audit line: %v", err)
			}
			c.probs = append(c.probs, Problem{Line: n, Err: err})
			return
		}
		if !m.Match(&e, l) {
			return
		}
		h := hit{off: start, end: end, line: n, entry: -1}
		if o.Entries {
			cp := e
			cp.Policies = append([]string(nil), e.Policies...)
			h.entry = len(c.entries)
			c.entries = append(c.entries, cp)
		}
		c.hits = append(c.hits, h)
	}
	// The last line of a source may lack its newline; it is always parsed.
	tail := len(data)
	if c.final && len(data) > 0 && data[len(data)-1] != '\n' {
		tail = bytes.LastIndexByte(data, '\n') + 1
	}
	off, n := 0, 0
	if needle := m.skipNeedle(); needle != nil && noEsc {
		// Every line without the needle is rejected: jump from one
		// occurrence to the next and only count the lines between.
		for off < tail {
			i := bytes.Index(data[off:tail], needle)
			if i < 0 {
				break
			}
			start := off + bytes.LastIndexByte(data[off:off+i], '\n') + 1
			n = skim(c, data, off, start, n)
			end := lineEnd(data, start, tail)
			n++
			line(start, end, n, false)
			off = end + 1
		}
		n = skim(c, data, off, tail, n)
	} else {
		for off < tail {
			end := lineEnd(data, off, tail)
			n++
			line(off, end, n, false)
			off = end + 1
		}
	}
	if tail < len(data) {
		n++
		line(tail, len(data), n, true)
	}
	c.lines = n
}

// skim counts the whole lines of data[from:to], which the needle rules
// out, after line n, and reports those that are not a JSON object.
func skim(c *chunk, data []byte, from, to, n int) int {
	for from < to {
		end := from + bytes.IndexByte(data[from:to], '\n')
		if end < from {
			end = to
		}
		n++
		if l := data[from:end]; len(l) > 0 && (l[0] != '{' || l[len(l)-1] != '}') {
			c.probs = append(c.probs, Problem{Line: n, Err: errors.New("malformed audit line: not a JSON object")})
		}
		from = end + 1
	}
	return n
}

func lineEnd(data []byte, from, tail int) int {
	if i := bytes.IndexByte(data[from:tail], '\n'); i >= 0 {
		return from + i
	}
	return tail
}
