package auditlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// line builds an audit line shaped as Vault 1.21 writes them.
func line(typ, id, op, path, who, role, errMsg string, t time.Time) string {
	auth := map[string]any{"client_token": "hmac-sha256:00", "accessor": "hmac-sha256:01", "display_name": who,
		"policies": []string{"default", "dagster-analytics"}, "token_policies": []string{"default", "dagster-analytics"},
		"entity_id": "ent-" + who, "token_type": "service"}
	if role != "" {
		auth["metadata"] = map[string]string{"role_name": role}
	}
	m := map[string]any{"time": t.UTC().Format(time.RFC3339Nano), "type": typ, "auth": auth,
		"request": map[string]any{"id": id, "operation": op, "path": path, "mount_point": strings.SplitN(path, "/", 2)[0] + "/",
			"mount_type": "kv", "remote_address": "127.0.0.1", "remote_port": 40000, "namespace": map[string]string{"id": "root"}}}
	if typ == "response" {
		m["response"] = map[string]any{"mount_type": "kv", "data": map[string]any{"data": map[string]string{"k": "hmac-sha256:abc"}}}
	}
	if errMsg != "" {
		m["error"] = errMsg
	}
	b, _ := json.Marshal(m)
	return string(b)
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func sample() []string {
	return []string{
		line("request", "r1", "read", "secret/data/analytics/db", "approle", "dagster-analytics", "", t0),
		line("response", "r1", "read", "secret/data/analytics/db", "approle", "dagster-analytics", "", t0.Add(time.Millisecond)),
		line("request", "r2", "update", "secret/data/shop/prod", "approle", "importer", "", t0.Add(time.Hour)),
		line("response", "r2", "update", "secret/data/shop/prod", "approle", "importer", "", t0.Add(time.Hour)),
		line("request", "r3", "read", "secret/data/shop/prod", "token-alice", "", "permission denied", t0.Add(2*time.Hour)),
		line("response", "r3", "read", "secret/data/shop/prod", "token-alice", "", "permission denied", t0.Add(2*time.Hour)),
		line("request", "r4", "list", "secret/metadata/shop", "token-alice", "", "", t0.Add(3*time.Hour)),
	}
}

func ids(t *testing.T, f Filter, lines []string) string {
	t.Helper()
	m, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	src := ReaderSource("t", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	var got []string
	_, err = Scan(context.Background(), []Source{src}, m, Options{Entries: true, ChunkSize: 700}, func(h *Hit) error {
		got = append(got, h.Entry.Type[:3]+":"+h.Entry.RequestID)
		return nil
	}, func(p Problem) { t.Errorf("problem: %v", p) })
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

func TestFilters(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Filter
		want string
	}{
		{"all", Filter{}, "req:r1 res:r1 req:r2 res:r2 req:r3 res:r3 req:r4"},
		{"role name", Filter{Users: []string{"importer"}}, "req:r2 res:r2"},
		{"display name", Filter{Users: []string{"token-alice"}}, "req:r3 res:r3 req:r4"},
		{"entity id", Filter{Users: []string{"ent-token-alice"}}, "req:r3 res:r3 req:r4"},
		{"two users", Filter{Users: []string{"importer", "dagster-analytics"}}, "req:r1 res:r1 req:r2 res:r2"},
		{"op", Filter{Ops: []string{"read"}, Type: "request"}, "req:r1 req:r3"},
		{"path glob", Filter{Paths: []string{"secret/data/shop/*"}}, "req:r2 res:r2 req:r3 res:r3"},
		{"path glob middle", Filter{Paths: []string{"secret/*/shop*"}}, "req:r2 res:r2 req:r3 res:r3 req:r4"},
		{"mount", Filter{Mounts: []string{"secret"}, Type: "response"}, "res:r1 res:r2 res:r3"},
		{"errors", Filter{Errors: true}, "req:r3 res:r3"},
		{"policy", Filter{Policies: []string{"dagster-analytics"}, RequestIDs: []string{"r4"}}, "req:r4"},
		{"since", Filter{Since: t0.Add(2 * time.Hour)}, "req:r3 res:r3 req:r4"},
		{"until", Filter{Until: t0.Add(time.Hour)}, "req:r1 res:r1"},
		{"range", Filter{Since: t0.Add(30 * time.Minute), Until: t0.Add(150 * time.Minute)}, "req:r2 res:r2 req:r3 res:r3"},
		{"remote", Filter{RemoteAddr: []string{"10.0.0.1"}}, ""},
		{"contains", Filter{Contains: []string{"hmac-sha256:abc"}}, "res:r1 res:r2 res:r3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(t, tc.f, sample()); got != tc.want {
				t.Errorf("Scan(%+v) = %q; want %q", tc.f, got, tc.want)
			}
		})
	}
}

func TestMalformedLinesSkipped(t *testing.T) {
	lines := sample()
	in := lines[0] + "\nnot json at all\n" + lines[1] + "\n{\"type\":\"request\"}\n" + lines[2][:50]
	m, _ := Compile(Filter{})
	var probs []string
	res, err := Scan(context.Background(), []Source{ReaderSource("log", strings.NewReader(in))}, m, Options{},
		func(h *Hit) error { return nil }, func(p Problem) { probs = append(probs, p.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 2 || res.Lines != 5 || len(probs) != 3 {
		t.Fatalf("Scan = %+v, problems %q; want 2 matched of 5 lines, 3 problems", res, probs)
	}
	for i, want := range []string{"log:2: malformed", "log:4: malformed", "log:5: truncated line"} {
		if !strings.HasPrefix(probs[i], want) {
			t.Errorf("problem %d = %q; want prefix %q", i, probs[i], want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		g, s string
		want bool
	}{
		{"secret/data/*", "secret/data/a/b", true},
		{"secret/data/*", "secret/metadata/a", false},
		{"*/db", "secret/data/x/db", true},
		{"secret/?ata/x", "secret/data/x", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"*", "", true},
		{"", "x", false},
	} {
		if got := Glob(tc.g, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v; want %v", tc.g, tc.s, got, tc.want)
		}
	}
}

func TestOrder(t *testing.T) {
	got := Order([]string{"/l/audit.log", "/a/audit-20261201T000000.000000Z.log.zst", "/l/audit.log.1",
		"/a/audit-20261130T000000.000000Z.log.gz", "/l/audit.log.2.gz"})
	want := "/a/audit-20261130T000000.000000Z.log.gz /a/audit-20261201T000000.000000Z.log.zst /l/audit.log.2.gz /l/audit.log.1 /l/audit.log"
	if strings.Join(got, " ") != want {
		t.Errorf("Order = %q; want %q", got, want)
	}
}

func TestPairer(t *testing.T) {
	var p Pairer
	var st []string
	for _, l := range sample() {
		var e Entry
		var fp fastjson.Parser
		if err := Parse(&fp, []byte(l), &e); err != nil {
			t.Fatal(err)
		}
		for _, pr := range p.Add(&e) {
			st = append(st, pr.RequestID+"="+pr.Status)
		}
	}
	for _, pr := range p.Flush() {
		st = append(st, pr.RequestID+"="+pr.Status)
	}
	if got, want := strings.Join(st, " "), "r1=ok r2=ok r3=error r4=no_response"; got != want {
		t.Errorf("pairs = %q; want %q", got, want)
	}
}

// TestFastPathAgreesOnEscapes: literals spelled with escapes JSON allows
// must not make the fast path reject a matching line.
func TestFastPathAgreesOnEscapes(t *testing.T) {
	l := `{"type":"request","time":"2026-12-01T10:00:00Z","auth":{"display_name":"\u0061lice"},"request":{"id":"r","path":"secret\/data\/x","mount_point":"secret/"}}`
	for _, f := range []Filter{{Users: []string{"alice"}}, {Paths: []string{"secret/data/*"}}, {Since: t0.Add(-time.Hour)}} {
		m, _ := Compile(f)
		if !agree(m, []byte(l)) {
			t.Errorf("filter %+v: fast path rejects a matching line", f)
		}
	}
}

func agree(m *Matcher, l []byte) bool {
	var p fastjson.Parser
	var e Entry
	full := Parse(&p, l, &e) == nil && m.Match(&e, l)
	return !(full && m.Reject(l))
}

var fuzzFilters = []Filter{
	{Users: []string{"alice"}}, {Users: []string{"importer", "token-bob"}}, {Ops: []string{"read"}},
	{Type: "response"}, {Type: "request"}, {Type: "request", Ops: []string{"read"}}, {Errors: true}, {Paths: []string{"secret/data/*"}}, {Paths: []string{"*/db"}},
	{Mounts: []string{"secret"}}, {Policies: []string{"admin"}}, {RemoteAddr: []string{"127.0.0.1"}},
	{RequestIDs: []string{"r1"}}, {Since: t0}, {Until: t0}, {Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)},
	{Users: []string{"alice"}, Ops: []string{"read"}, Since: t0.Add(-time.Hour)}, {Contains: []string{"hmac-sha256:abc"}},
}

// FuzzLine checks, for untrusted lines, that Parse never panics and that
// the fast path never rejects a line the full parse matches.
func FuzzLine(f *testing.F) {
	for _, l := range sample() {
		f.Add([]byte(l))
	}
	f.Add([]byte(`{"type":"request","time":"2026-12-01T10:00:00Z","auth":{"display_name":"\u0061lice"},"request":{"path":"secret\/data\/x"}}`))
	f.Add([]byte(`{"type":"response","time" : "2026-12-01T10:00:00Z","time":"2020-01-01T00:00:00Z","error":"x"}`))
	f.Add([]byte(`{"time":"2026-12-01T10:00:00Z","type":"request","type":"response"}`))
	f.Add([]byte(`{"time":"2026-12-01T10:00:00Z","a":{"x":"y","type":"response"}}`))
	f.Add([]byte(`{"time":"2026-12-01T10:00:00Z","a":"q\",\"type\":\"response","type":"request"}`))
	f.Add([]byte(`{"a":{"b":"c","time":"2020-01-01T00:00:00Z"},"time":"2026-12-01T10:00:00Z","type":"request"}`))
	ms := make([]*Matcher, len(fuzzFilters))
	for i, flt := range fuzzFilters {
		m, err := Compile(flt)
		if err != nil {
			f.Fatal(err)
		}
		ms[i] = m
	}
	f.Fuzz(func(t *testing.T, l []byte) {
		if bytes.IndexByte(l, '\n') >= 0 {
			return
		}
		for i, m := range ms {
			if !agree(m, l) {
				t.Fatalf("filter %d %+v: fast path rejects %q, which the full parse matches", i, fuzzFilters[i], l)
			}
		}
	})
}

func benchData() string {
	var sb strings.Builder
	ls := sample()
	for i := 0; sb.Len() < 8<<20; i++ {
		sb.WriteString(ls[i%len(ls)])
		sb.WriteByte('\n')
	}
	return sb.String()
}

func BenchmarkScanSelective(b *testing.B) {
	benchScan(b, Filter{Users: []string{"nobody"}, Ops: []string{"read"}})
}
func BenchmarkScanBroad(b *testing.B) { benchScan(b, Filter{Type: "request", Ops: []string{"read"}}) }
func BenchmarkScanTime(b *testing.B) {
	benchScan(b, Filter{Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)})
}

func benchScan(b *testing.B, f Filter) {
	data := benchData()
	m, _ := Compile(f)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		_, err := Scan(context.Background(), []Source{ReaderSource("b", strings.NewReader(data))}, m, Options{}, func(*Hit) error { return nil }, func(p Problem) { panic(fmt.Sprint(p)) })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestScanEqualsNaive: whatever the chunking and fast paths, Scan keeps
// exactly the lines a parse of every line would, and reports the same
// malformed lines among those that hold the filter's literals.
func TestScanEqualsNaive(t *testing.T) {
	var lines []string
	for i := 0; i < 40; i++ {
		for _, l := range sample() {
			lines = append(lines, strings.Replace(l, `"r`, fmt.Sprintf(`"r%d-`, i), 1))
		}
		if i%7 == 3 {
			lines = append(lines, `{"type":"request","time":"2026-12-01T10:00:00Z","auth":{"display_name":"\u0061lice"},"request":{"id":"esc","path":"secret\/data\/x"}}`)
			lines = append(lines, "garbage with alice and read", "")
		}
	}
	in := strings.Join(lines, "\n") + "\n" + lines[3][:40]
	for fi, f := range append(fuzzFilters, Filter{}, Filter{Users: []string{"alice", "token-alice"}}) {
		m, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		var p fastjson.Parser
		for i, l := range strings.Split(in, "\n") {
			var e Entry
			if Parse(&p, []byte(l), &e) == nil && m.Match(&e, []byte(l)) {
				want = append(want, fmt.Sprintf("%d:%s", i+1, l))
			}
		}
		for _, cs := range []int{64, 1000, 1 << 20} {
			var got []string
			res, err := Scan(context.Background(), []Source{ReaderSource("t", strings.NewReader(in))}, m, Options{ChunkSize: cs},
				func(h *Hit) error { got = append(got, fmt.Sprintf("%d:%s", h.Line, h.Raw)); return nil }, func(Problem) {})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("filter %d %+v, chunk %d: Scan kept %d lines, a full parse %d", fi, f, cs, len(got), len(want))
			}
			if res.Lines != int64(strings.Count(in, "\n")+1) {
				t.Errorf("filter %d, chunk %d: %d lines counted; want %d", fi, cs, res.Lines, strings.Count(in, "\n")+1)
			}
		}
	}
}

func TestFastTail(t *testing.T) {
	for _, tc := range []struct {
		line, typ, ts string
		ok            bool
	}{
		{`{"request":{"id":"x"},"time":"T","type":"request"}`, "request", "T", true},
		{`{"type":"response"}` + " \r", "response", "", true},
		{`{"a":{"time":"T","type":"response"}}`, "", "", false},
		{`{"a":"x\",\"type\":\"response"}`, "", "", false},
		{`{"a":"x","type":"resp\\onse"}`, "", "", false},
		{`{"a":"x","xtype":"response"}`, "", "", false},
		{`{"type":"request","time":"T"}`, "", "", false},
		{`{"a":"x\",\"time\":\"T","type":"request"}`, "request", "", true},
		{`{"a":{"b":"c","time":"T"},"type":"request"}`, "request", "", true},
	} {
		typ, ts, ok := fastTail([]byte(tc.line))
		if string(typ) != tc.typ || string(ts) != tc.ts || ok != tc.ok {
			t.Errorf("fastTail(%s) = %q, %q, %v; want %q, %q, %v", tc.line, typ, ts, ok, tc.typ, tc.ts, tc.ok)
		}
	}
}

// A line over MaxLine is dropped in bounded memory and reading goes on: a
// match after it is still found, and the result says it is incomplete.
// A line the fast path rejects is still reported when it is not JSON.
func TestOverlongAndRejectedLinesSkipped(t *testing.T) {
	lines := sample()
	long := "{\"x\":\"" + strings.Repeat("\\u003c", 200<<10) + "\"}"
	in := lines[0] + "\n" + long + "\nno json, no needle\n" + lines[1] + "\n" + lines[2] + "\n"
	for _, f := range []Filter{{}, {Users: []string{"importer"}}} {
		m, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		var probs []string
		res, err := Scan(context.Background(), []Source{ReaderSource("log", strings.NewReader(in))}, m, Options{MaxLine: 64 << 10, ChunkSize: 16 << 10},
			func(h *Hit) error { return nil }, func(p Problem) { probs = append(probs, p.Error()) })
		if err != nil {
			t.Fatal(err)
		}
		if res.Lines != 5 || res.Malformed != 2 || len(probs) != 2 || res.Incomplete() == nil {
			t.Fatalf("Scan(%+v) = %+v, problems %q; want 5 lines, 2 skipped, incomplete", f, res, probs)
		}
		if !strings.HasPrefix(probs[0], "log:2: a line of ") || !strings.HasPrefix(probs[1], "log:3: malformed") {
			t.Errorf("problems = %q; want log:2 over-long, log:3 malformed", probs)
		}
		if !strings.Contains(res.Incomplete().Error(), "log:2") {
			t.Errorf("Incomplete() = %v; want the first skipped line log:2", res.Incomplete())
		}
		if f.Users == nil && res.Matched != 3 {
			t.Errorf("Scan(all) matched %d; want 3 (lines after the long one too)", res.Matched)
		}
	}
}
