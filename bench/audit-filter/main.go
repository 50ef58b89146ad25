// Command audit-filter-bench compares audit-filter with jq on a large audit
// log built from a real Vault's lines.
//
// It starts a Vault 1.21.1 server (lib/vaulttest) with a file audit device,
// makes a few thousand real requests (eight AppRoles and four tokens;
// reads, writes, lists, deletes, denied reads), then builds a log of at
// least -size bytes by repeating those request/response pairs with fresh
// request ids and times spread over 90 days, and its .zst archive. For three
// filters (selective, broad, time range) on both, it runs audit-filter and
// `jq -c 'select(…)'`, checks they output the same number of lines, and
// prints wall time, CPU time, lines/s, the ratio and peak RSS as Markdown
// rows for RESULTS.md.
//
// Usage: go run ./bench/audit-filter [-size 1100000000] [-dir /tmp/audit-bench] [-keep]
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/klauspost/compress/zstd"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// fixedNano is RFC 3339 with nine fraction digits always.
const fixedNano = "2006-01-02T15:04:05.000000000Z07:00"

func main() {
	size := flag.Int64("size", 1_100_000_000, "bytes of audit log to build")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "audit-bench"), "working directory")
	keep := flag.Bool("keep", false, "keep the generated logs")
	flag.Parse()
	if err := run(*size, *dir, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "audit-filter-bench: error:", err)
		vaulttest.KillAll()
		os.Exit(1)
	}
}

func run(size int64, dir string, keep bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	log := filepath.Join(dir, "audit.log")
	zlog := filepath.Join(dir, "audit-20261201T000000.000000Z.log.zst")
	bin := filepath.Join(dir, "audit-filter")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/audit-filter").CombinedOutput(); err != nil {
		return fmt.Errorf("building audit-filter: %v\n%s", err, out)
	}
	seeds, err := realLines(filepath.Join(dir, "seed.log"))
	if err != nil {
		return err
	}
	lines, avg, err := build(seeds, log, size)
	if err != nil {
		return err
	}
	if err := compress(log, zlog); err != nil {
		return err
	}
	zfi, _ := os.Stat(zlog)
	fi, _ := os.Stat(log)
	fmt.Printf("log: %d lines, %.2f GB (average line %d bytes) from %d real request/response pairs; .zst %.0f MB\n",
		lines, float64(fi.Size())/1e9, avg, len(seeds), float64(zfi.Size())/1e6)
	la, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("load average before: %s", la)

	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	// Fixed-width fractions, so that jq's string comparison is chronological.
	since, until := start.Add(40*24*time.Hour).Format(fixedNano), start.Add(49*24*time.Hour).Format(fixedNano)
	filters := []struct {
		name string
		args []string
		jq   string
	}{
		{"selective: one AppRole's deletes", []string{"--user", "app-3", "--op", "delete"},
			`select((.auth.display_name=="app-3" or .auth.entity_id=="app-3" or .auth.metadata.role_name=="app-3") and .request.operation=="delete")`},
		{"broad: read requests", []string{"--type", "request", "--op", "read"},
			`select(.type=="request" and .request.operation=="read")`},
		{"time range: 9 of 90 days", []string{"--since", since, "--until", until},
			`select(.time >= "` + since + `" and .time < "` + until + `")`},
	}
	fmt.Println()
	fmt.Println("| filter | input | jq lines out | jq wall (cpu) | audit-filter wall (cpu) | audit-filter lines/s | ratio (wall) | peak RSS jq / audit-filter |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, f := range filters {
		for _, in := range []string{log, zlog} {
			kind := "plain"
			jqCmd := []string{"jq", "-c", f.jq, in}
			if in == zlog {
				kind = ".zst"
				jqCmd = []string{"sh", "-c", "zstd -dc " + in + " | jq -c '" + f.jq + "'"}
			}
			j, err := measure(dir, jqCmd)
			if err != nil {
				return fmt.Errorf("jq: %w", err)
			}
			a, err := measure(dir, append(append([]string{bin}, f.args...), in))
			if err != nil {
				return fmt.Errorf("audit-filter: %w", err)
			}
			if a.out != j.out {
				return fmt.Errorf("%s on %s: audit-filter printed %d lines, jq %d", f.name, kind, a.out, j.out)
			}
			fmt.Printf("| %s | %s | %d | %.1f s (%.1f s) | %.2f s (%.2f s) | %.2f M | **%.0f×** | %d MB / %d MB |\n",
				f.name, kind, j.out, j.wall, j.cpu, a.wall, a.cpu, float64(lines)/a.wall/1e6, j.wall/a.wall, j.rss/1024, a.rss/1024)
		}
	}
	la, _ = os.ReadFile("/proc/loadavg")
	fmt.Printf("\nload average after: %s", la)
	return nil
}

type result struct {
	wall, cpu float64
	rss       int64 // KB
	out       int64 // lines on stdout
}

// measure runs argv under GNU time, counting its stdout lines.
func measure(dir string, argv []string) (result, error) {
	tf := filepath.Join(dir, "time.out")
	cmd := exec.Command("/usr/bin/time", append([]string{"-o", tf, "-f", "%e %U %S %M"}, argv...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var r result
	buf := make([]byte, 1<<20)
	for {
		n, err := out.Read(buf)
		r.out += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		return r, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	b, err := os.ReadFile(tf)
	if err != nil {
		return r, err
	}
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return r, fmt.Errorf("time output %q", b)
	}
	wall, _ := strconv.ParseFloat(f[0], 64)
	u, _ := strconv.ParseFloat(f[1], 64)
	s, _ := strconv.ParseFloat(f[2], 64)
	r.wall, r.cpu = wall, u+s
	r.rss, _ = strconv.ParseInt(f[3], 10, 64)
	return r, nil
}

// pair is a request line and its response line as Vault wrote them.
type pair struct {
	id, reqTime, respTime string
	req, resp             []byte
}

// realLines runs a real Vault, makes varied requests and returns the
// request/response pairs its file audit device wrote.
func realLines(path string) ([]pair, error) {
	s, err := vaulttest.Launch(vaulttest.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	root := s.Client()
	if err := root.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": path}}); err != nil {
		return nil, err
	}
	if err := root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		return nil, err
	}
	var clients []*api.Client
	for i := 0; i < 8; i++ {
		pol := fmt.Sprintf(`path "secret/data/app%d/*" { capabilities = ["create","read","update","delete"] }
path "secret/metadata/app%d/*" { capabilities = ["list","read","delete"] }`, i, i)
		name := fmt.Sprintf("app-%d", i)
		if err := root.Sys().PutPolicy(name, pol); err != nil {
			return nil, err
		}
		if _, err := root.Logical().Write("auth/approle/role/"+name, map[string]any{"token_policies": name}); err != nil {
			return nil, err
		}
		rid, err := root.Logical().Read("auth/approle/role/" + name + "/role-id")
		if err != nil {
			return nil, err
		}
		sid, err := root.Logical().Write("auth/approle/role/"+name+"/secret-id", nil)
		if err != nil {
			return nil, err
		}
		login, err := root.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]})
		if err != nil {
			return nil, err
		}
		c, _ := root.Clone()
		c.SetToken(login.Auth.ClientToken)
		clients = append(clients, c)
	}
	if err := root.Sys().PutPolicy("ops", `path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["list"] }`); err != nil {
		return nil, err
	}
	for i := 0; i < 4; i++ {
		tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{DisplayName: fmt.Sprintf("ops-%d", i), Policies: []string{"ops"}})
		if err != nil {
			return nil, err
		}
		c, _ := root.Clone()
		c.SetToken(tok.Auth.ClientToken)
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for ci, c := range clients {
		wg.Add(1)
		go func(ci int, c *api.Client) {
			defer wg.Done()
			app := ci % 8
			for n := 0; n < 250; n++ {
				p := fmt.Sprintf("secret/data/app%d/svc%d", app, n%12)
				var err error
				switch x := rnd(20); {
				case ci >= 8 && x < 14: // tokens: reads, lists
					_, err = c.Logical().Read(p)
				case ci >= 8:
					_, err = c.Logical().List(fmt.Sprintf("secret/metadata/app%d/", app))
				case x < 6:
					_, err = c.Logical().Write(p, map[string]any{"data": map[string]any{"password": randHex(16), "user": "svc", "n": n}})
				case x < 14:
					_, err = c.Logical().Read(p)
				case x < 16:
					_, err = c.Logical().List(fmt.Sprintf("secret/metadata/app%d/", app))
				case x < 18:
					_, err = c.Logical().Delete(p)
				default: // denied: another app's secret
					_, err = c.Logical().Read(fmt.Sprintf("secret/data/app%d/svc0", (app+1)%8))
				}
				_ = err // denied and missing are part of the mix
			}
		}(ci, c)
	}
	wg.Wait()
	return readPairs(path)
}

func readPairs(path string) ([]pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	reqs := map[string]*pair{}
	var out []pair
	for sc.Scan() {
		l := append([]byte(nil), sc.Bytes()...)
		id, tm := field(l, `"id":"`), field(l, `"time":"`)
		if id == "" || tm == "" {
			continue
		}
		if bytes.Contains(l, []byte(`"type":"request"`)) {
			reqs[id] = &pair{id: id, reqTime: tm, req: l}
		} else if p := reqs[id]; p != nil {
			p.resp, p.respTime = l, tm
			out = append(out, *p)
			delete(reqs, id)
		}
	}
	if len(out) < 1000 {
		return nil, errors.New("fewer than 1000 request/response pairs logged")
	}
	return out, sc.Err()
}

func field(l []byte, key string) string {
	i := bytes.Index(l, []byte(key))
	if i < 0 {
		return ""
	}
	rest := l[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// build writes pairs over and over, each with a new request id and times
// 90 days long in all, until the log holds size bytes.
func build(seeds []pair, path string, size int64) (int64, int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 4<<20)
	var per int64
	for _, p := range seeds {
		per += int64(len(p.req) + len(p.resp) + 2)
	}
	n := size/(per/int64(len(seeds))) + 1
	step := 90 * 24 * time.Hour / time.Duration(n)
	t := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var written, lines int64
	for i := 0; written < size; i++ {
		p := seeds[i%len(seeds)]
		id := randUUID()
		ts := t.Format(fixedNano)
		t2 := t.Add(3 * time.Millisecond).Format(fixedNano)
		req := bytes.ReplaceAll(bytes.Replace(p.req, []byte(`"time":"`+p.reqTime+`"`), []byte(`"time":"`+ts+`"`), 1), []byte(p.id), []byte(id))
		resp := bytes.ReplaceAll(bytes.Replace(p.resp, []byte(`"time":"`+p.respTime+`"`), []byte(`"time":"`+t2+`"`), 1), []byte(p.id), []byte(id))
		w.Write(req)
		w.WriteByte('\n')
		w.Write(resp)
		w.WriteByte('\n')
		written += int64(len(req) + len(resp) + 2)
		lines += 2
		t = t.Add(step)
	}
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	return lines, written / lines, f.Close()
}

func compress(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	enc, err := zstd.NewWriter(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(enc, in); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return out.Close()
}

func rnd(n int64) int64 {
	v, _ := rand.Int(rand.Reader, big.NewInt(n))
	return v.Int64()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func randUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
