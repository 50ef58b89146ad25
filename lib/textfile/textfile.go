// Package textfile writes metrics for node_exporter's textfile collector:
// the Prometheus text exposition format, one file per job, replaced
// atomically so the collector never reads half a file. Every vaultpipe job
// names its metrics vaultpipe_<job>_<what>[_<unit>].
//
// Metrics never carry secret values: labels are paths, names and classes.
package textfile

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Type is a metric family's type.
type Type string

const (
	Gauge   Type = "gauge"
	Counter Type = "counter"
)

type sample struct {
	labels string // rendered, sorted by label name
	value  float64
}

type family struct {
	name, help string
	typ        Type
	samples    []sample
}

// Set is a set of metric families, written in the order they were first
// added; samples keep the order they were added in.
type Set struct {
	families []*family
	byName   map[string]*family
}

// Gauge adds a gauge sample. labels are name, value pairs.
func (s *Set) Gauge(name, help string, v float64, labels ...string) {
	s.add(Gauge, name, help, v, labels)
}

// Counter adds a counter sample. labels are name, value pairs.
func (s *Set) Counter(name, help string, v float64, labels ...string) {
	s.add(Counter, name, help, v, labels)
}

// Bool is 1 for true and 0 for false.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (s *Set) add(t Type, name, help string, v float64, labels []string) {
	if !validName(name) {
		panic("textfile: invalid metric name " + strconv.Quote(name))
	}
	if len(labels)%2 != 0 {
		panic("textfile: labels must be name, value pairs")
	}
	if s.byName == nil {
		s.byName = map[string]*family{}
	}
	f := s.byName[name]
	if f == nil {
		f = &family{name: name, help: help, typ: t}
		s.byName[name] = f
		s.families = append(s.families, f)
	} else if f.typ != t {
		panic("textfile: " + name + " added as " + string(t) + " and " + string(f.typ))
	}
	f.samples = append(f.samples, sample{labels: renderLabels(labels), value: v})
}

func renderLabels(kv []string) string {
	if len(kv) == 0 {
		return ""
	}
	type pair struct{ k, v string }
	ps := make([]pair, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		if !validName(kv[i]) || strings.HasPrefix(kv[i], "__") {
			panic("textfile: invalid label name " + strconv.Quote(kv[i]))
		}
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.k)
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(p.v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteTo writes the set in the text exposition format.
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, f := range s.families {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, helpEscaper.Replace(f.help), f.name, f.typ)
		for _, smp := range f.samples {
			fmt.Fprintf(&b, "%s%s %s\n", f.name, smp.labels, formatValue(smp.value))
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// WriteFile replaces path with the set, atomically (mode 0644: metrics
// hold no secrets, and the collector runs as another user).
func (s *Set) WriteFile(path string) error {
	return safefile.WriteFunc(path, 0o644, func(w io.Writer) error {
		_, err := s.WriteTo(w)
		return err
	})
}

// Read returns the value of the sample name{labels} in the metrics file at
// path, so that a job can carry a value (a last success time) across runs.
// ok is false when the file, the metric or the sample is missing.
func Read(path, name string, labels ...string) (v float64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	want := name + renderLabels(labels) + " "
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, found := strings.CutPrefix(sc.Text(), want); found {
			v, err := strconv.ParseFloat(strings.Fields(rest + " x")[0], 64)
			return v, err == nil
		}
	}
	return 0, false
}
