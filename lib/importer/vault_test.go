package importer

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/dotenv"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func TestMain(m *testing.M) { vaulttest.Main(m) }

// One server for the tests of this package that can share it; each test
// uses its own paths (its app name).
func server(t *testing.T) *vaulttest.Server {
	t.Helper()
	return vaulttest.Shared(t)
}

func client(t *testing.T, s *vaulttest.Server, token string) *vaultclient.Client {
	t.Helper()
	c, err := s.ClientWithToken(token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tricky holds values that trip other .env readers; want is what each must
// read back from Vault as, byte for byte.
const tricky = "\xef\xbb\xbf# shop settings\r\n" +
	"export DB_PASSWORD='pa$WORD#1 \"x\"'\r\n" +
	"HASH_FIRST=#x\r\n" +
	"EXPAND=${HOME}/never\r\n" +
	"DQ=\"tab\\there\\nnew \\\"q\\\" back\\\\slash\"\r\n" +
	"PEM=\"-----BEGIN PRIVATE KEY-----\r\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\r\n-----END PRIVATE KEY-----\r\n\"\r\n" +
	"ключ=значение # comment\r\n" +
	"SPACES = '  padded  '\r\n" +
	"EMPTY=\r\n"

var trickyWant = map[string]string{
	"DB_PASSWORD": `pa$WORD#1 "x"`,
	"HASH_FIRST":  "#x",
	"EXPAND":      "${HOME}/never",
	"DQ":          "tab\there\nnew \"q\" back\\slash",
	"PEM":         "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n",
	"ключ":        "значение",
	"SPACES":      "  padded  ",
}

func plan(t *testing.T, c *vaultclient.Client, sources []Source, m Targeter, o Options) *Batch {
	t.Helper()
	b, err := Load(sources, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Observe(context.Background(), c, o); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return b
}

func statuses(d *Document) map[string]string {
	out := map[string]string{}
	for _, it := range d.Items {
		out[it.Key] = string(it.Status)
	}
	return out
}

func TestApplyTrickyFileRoundTripsAndRerunIsNoop(t *testing.T) {
	s := server(t)
	c := client(t, s, s.Token)
	ctx := context.Background()
	file := writeFile(t, filepath.Join(t.TempDir(), "tricky", ".env.prod"), tricky)
	m := Mapping{}

	b := plan(t, c, []Source{{File: file}}, m, Options{})
	d, err := b.Apply(ctx, c, ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for k := range trickyWant {
		if st := statuses(d)[k]; st != string(Created) {
			t.Errorf("%s: status %q; want created", k, st)
		}
	}
	if st := statuses(d)["EMPTY"]; st != string(Skipped) {
		t.Errorf("EMPTY: status %q; want skipped", st)
	}
	sec, err := c.KV("secret").Get(ctx, "tricky/prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range trickyWant {
		if got, _ := sec.Data[k].(string); got != want {
			t.Errorf("Vault field %s = %q; want %q", k, got, want)
		}
	}
	if sec.Version != 1 {
		t.Errorf("version %d; want 1", sec.Version)
	}

	// Again: nothing to do, no new version.
	b = plan(t, c, []Source{{File: file}}, m, Options{})
	for _, it := range b.Plan().Items {
		if it.Key != "EMPTY" && it.Action != Unchanged {
			t.Errorf("re-plan %s: %s; want unchanged", it.Key, it.Action)
		}
	}
	if _, err := b.Apply(ctx, c, ApplyOptions{Rewrite: true}); err != nil {
		t.Fatalf("Apply --rewrite: %v", err)
	}
	meta, err := c.KV("secret").Metadata(ctx, "tricky/prod")
	if err != nil || meta.CurrentVersion != 1 {
		t.Fatalf("metadata = %+v, %v; want version 1", meta, err)
	}

	// The file now holds references, everything else as it was.
	got, _ := os.ReadFile(file)
	f, err := dotenv.Parse(file, got)
	if err != nil {
		t.Fatalf("rewritten file does not parse: %v\n%s", err, got)
	}
	for k := range trickyWant {
		e, _ := f.Lookup(k)
		if want := "vault:secret/data/tricky/prod#" + k; e.Value != want {
			t.Errorf("rewritten %s = %q; want %q", k, e.Value, want)
		}
	}
	if !strings.HasPrefix(string(got), "\xef\xbb\xbf# shop settings\r\nexport DB_PASSWORD=") || !strings.Contains(string(got), " # comment\r\n") || !strings.HasSuffix(string(got), "EMPTY=\r\n") {
		t.Errorf("rewrite lost surrounding bytes:\n%q", got)
	}
	if backups, _ := filepath.Glob(file + ".env-import-*.bak"); len(backups) != 0 {
		t.Errorf("backups left behind: %v", backups)
	}

	// And once more: references are skipped, the file is untouched.
	b = plan(t, c, []Source{{File: file}}, m, Options{})
	d, err = b.Apply(ctx, c, ApplyOptions{Rewrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Summary["skipped"] != len(d.Items) {
		t.Errorf("third run summary %v; want all skipped", d.Summary)
	}
	again, _ := os.ReadFile(file)
	if string(again) != string(got) {
		t.Errorf("third run changed the file")
	}
}

func TestApplyCreateOnlyAndUpdate(t *testing.T) {
	s := server(t)
	c := client(t, s, s.Token)
	ctx := context.Background()
	kv := c.KV("secret")
	if _, err := kv.Put(ctx, "cas/default", map[string]any{"A": "old", "KEEP": "other"}, 0); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, filepath.Join(t.TempDir(), "cas", ".env"), "A=new\nB=fresh\n")

	b := plan(t, c, []Source{{File: file}}, Mapping{}, Options{})
	d, err := b.Apply(ctx, c, ApplyOptions{Rewrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := statuses(d); st["A"] != "conflict" || st["B"] != "created" {
		t.Fatalf("statuses %v; want A conflict, B created", st)
	}
	sec, _ := kv.Get(ctx, "cas/default", 0)
	if sec.Data["A"] != "old" || sec.Data["B"] != "fresh" || sec.Data["KEEP"] != "other" || sec.Version != 2 {
		t.Errorf("secret = %v version %d; want A old, B fresh, KEEP other at version 2", sec.Data, sec.Version)
	}
	got, _ := os.ReadFile(file)
	if string(got) != "A=new\nB=vault:secret/data/cas/default#B\n" {
		t.Errorf("file = %q; want A kept (conflict) and B rewritten", got)
	}

	b = plan(t, c, []Source{{File: file}}, Mapping{}, Options{Update: true})
	d, err = b.Apply(ctx, c, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := statuses(d); st["A"] != "updated" || st["B"] != "skipped" {
		t.Fatalf("statuses %v; want A updated", st)
	}
	sec, _ = kv.Get(ctx, "cas/default", 0)
	if sec.Data["A"] != "new" || sec.Data["KEEP"] != "other" || sec.Version != 3 {
		t.Errorf("secret = %v version %d; want A new at version 3", sec.Data, sec.Version)
	}
}

func TestApplyPlanAgainstConcurrentWriter(t *testing.T) {
	s := server(t)
	c := client(t, s, s.Token)
	ctx := context.Background()
	file := writeFile(t, filepath.Join(t.TempDir(), "race", ".env"), "K1=v1\nK2=v2\nK3=v3\n")
	m := Mapping{Layout: LayoutKey}
	saved := plan(t, c, []Source{{File: file}}, m, Options{}).Plan()

	// Someone else writes K2 between plan and apply.
	if _, err := c.KV("secret").Put(ctx, "race/default/K2", map[string]any{"value": "theirs"}, 0); err != nil {
		t.Fatal(err)
	}
	b := plan(t, c, saved.Sources(), saved, Options{})
	b.Hold(saved)
	d, err := b.Apply(ctx, c, ApplyOptions{Rewrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := statuses(d); st["K1"] != "created" || st["K2"] != "conflict" || st["K3"] != "created" {
		t.Fatalf("statuses %v; want K2 conflict, others created", st)
	}
	if !d.HasConflicts() {
		t.Error("HasConflicts() = false")
	}
	sec, _ := c.KV("secret").Get(ctx, "race/default/K2", 0)
	if sec.Data["value"] != "theirs" || sec.Version != 1 {
		t.Errorf("K2 = %v v%d; want theirs at version 1", sec.Data, sec.Version)
	}
	got, _ := os.ReadFile(file)
	if string(got) != "K1=vault:secret/data/race/default/K1#value\nK2=v2\nK3=vault:secret/data/race/default/K3#value\n" {
		t.Errorf("file = %q", got)
	}
}

func TestApplyWriteRaceLosesByCAS(t *testing.T) {
	s := server(t)
	c := client(t, s, s.Token)
	ctx := context.Background()
	file := writeFile(t, filepath.Join(t.TempDir(), "race2", ".env"), "A=mine\n")
	b := plan(t, c, []Source{{File: file}}, Mapping{}, Options{})
	// The other writer lands after Observe: only check-and-set can notice.
	if _, err := c.KV("secret").Put(ctx, "race2/default", map[string]any{"A": "theirs"}, 0); err != nil {
		t.Fatal(err)
	}
	d, err := b.Apply(ctx, c, ApplyOptions{Rewrite: true})
	if err != nil {
		t.Fatal(err)
	}
	it := d.Items[0]
	if it.Status != Conflicted || !strings.Contains(it.Reason, "check-and-set") {
		t.Fatalf("item = %+v; want a check-and-set conflict", it)
	}
	if got, _ := os.ReadFile(file); string(got) != "A=mine\n" {
		t.Errorf("file rewritten after a conflict: %q", got)
	}
}

func TestApplyDeniedLeavesFileUntouched(t *testing.T) {
	s := server(t)
	root := client(t, s, s.Token)
	ctx := context.Background()
	if err := root.Sys().PutPolicyWithContext(ctx, "readonly-denied", `path "secret/data/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: []string{"readonly-denied"}})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, s, tok.Auth.ClientToken)
	const src = "PW=denied-CANARY-1\n"
	file := writeFile(t, filepath.Join(t.TempDir(), "denied", ".env"), src)
	b := plan(t, c, []Source{{File: file}}, Mapping{}, Options{})
	d, err := b.Apply(ctx, c, ApplyOptions{Rewrite: true})
	if !fault.Is(err, fault.Denied) {
		t.Fatalf("Apply error = %v; want denied", err)
	}
	if strings.Contains(err.Error(), "CANARY") {
		t.Errorf("error leaks the value: %v", err)
	}
	if len(d.Files) != 0 {
		t.Errorf("files touched: %+v", d.Files)
	}
	if got, _ := os.ReadFile(file); string(got) != src {
		t.Errorf("file changed: %q", got)
	}
}

// killAfter returns a client that kills s once the n-th write to a KV data
// path has been answered, so the run loses Vault in the middle.
func killAfter(t *testing.T, s *vaulttest.Server, n int32) *vaultclient.Client {
	var (
		count atomic.Int32
		once  sync.Once
	)
	base := client(t, s, s.Token)
	return &vaultclient.Client{Client: base.Client.WithResponseCallbacks(func(r *api.Response) {
		req := r.Request
		if req != nil && (req.Method == http.MethodPut || req.Method == http.MethodPost) && strings.Contains(req.URL.Path, "/data/") {
			if count.Add(1) == n {
				once.Do(func() { s.Kill() })
			}
		}
	})}
}

func TestKilledMidRunRerunFinishesWithoutExtraVersions(t *testing.T) {
	// A server of its own: this test kills it.
	s := vaulttest.Start(t)
	ctx := context.Background()
	var lines strings.Builder
	const n = 60
	for i := range n {
		fmt.Fprintf(&lines, "KEY_%03d=value-%03d\n", i, i)
	}
	file := writeFile(t, filepath.Join(t.TempDir(), "killed", ".env"), lines.String())
	m := Mapping{Layout: LayoutKey}

	c := killAfter(t, s, 20)
	b := plan(t, c, []Source{{File: file}}, m, Options{Concurrency: 4})
	d, err := b.Apply(ctx, c, ApplyOptions{Concurrency: 4, Rewrite: true})
	if err == nil {
		t.Fatal("Apply succeeded although Vault was killed")
	}
	if !fault.Is(err, fault.Unreachable) {
		t.Errorf("Apply error = %v; want unreachable", err)
	}
	if got, _ := os.ReadFile(file); string(got) != lines.String() {
		t.Fatal("file rewritten after a failed run")
	}
	if d.Summary["not_attempted"] == 0 {
		t.Errorf("summary %v: expected some keys not attempted", d.Summary)
	}

	if err := s.StartAgain(); err != nil {
		t.Fatal(err)
	}
	if err := s.Unseal(); err != nil {
		t.Fatal(err)
	}
	c = client(t, s, s.Token)
	b = plan(t, c, []Source{{File: file}}, m, Options{})
	d, err = b.Apply(ctx, c, ApplyOptions{Rewrite: true})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if d.Summary["unchanged"] < 20 || d.Summary["unchanged"]+d.Summary["created"] != n {
		t.Errorf("re-run summary %v; want the %d keys written before the kill unchanged and the rest created", d.Summary, 20)
	}
	for i := range n {
		p := fmt.Sprintf("killed/default/KEY_%03d", i)
		meta, err := c.KV("secret").Metadata(ctx, p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if meta.CurrentVersion != 1 || len(meta.Versions) != 1 {
			t.Errorf("%s: version %d with %d versions; want exactly one", p, meta.CurrentVersion, len(meta.Versions))
		}
		sec, err := c.KV("secret").Get(ctx, p, 0)
		if err != nil || sec.Data["value"] != fmt.Sprintf("value-%03d", i) {
			t.Errorf("%s = %v, %v", p, sec, err)
		}
	}
	got, _ := os.ReadFile(file)
	if strings.Count(string(got), "vault:secret/data/killed/default/KEY_") != n {
		t.Errorf("file not fully rewritten:\n%s", got)
	}
}

func TestObserveListsFoldersAndFallsBackWithoutListRight(t *testing.T) {
	s := server(t)
	root := client(t, s, s.Token)
	ctx := context.Background()
	if err := root.Sys().PutPolicyWithContext(ctx, "nolist", `path "secret/data/*" { capabilities = ["create", "read", "update"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: []string{"nolist"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		app   string
		token string
	}{{"listed", s.Token}, {"unlisted", tok.Auth.ClientToken}} {
		t.Run(tc.app, func(t *testing.T) {
			kv := root.KV("secret")
			kv.Put(ctx, tc.app+"/default/SAME", map[string]any{"value": "s"}, 0)
			kv.Put(ctx, tc.app+"/default/OTHER", map[string]any{"value": "theirs"}, 0)
			file := writeFile(t, filepath.Join(t.TempDir(), tc.app, ".env"), "SAME=s\nOTHER=mine\nN1=1\nN2=2\nN3=3\n")
			c := client(t, s, tc.token)
			b := plan(t, c, []Source{{File: file}}, Mapping{Layout: LayoutKey}, Options{})
			want := map[string]Action{"SAME": Unchanged, "OTHER": Conflict, "N1": Create, "N2": Create, "N3": Create}
			for _, it := range b.Items {
				if it.Action != want[it.Key] {
					t.Errorf("%s: %s; want %s", it.Key, it.Action, want[it.Key])
				}
				if it.Key == "SAME" && it.Version != 1 {
					t.Errorf("SAME version %d; want 1", it.Version)
				}
			}
			d, err := b.Apply(ctx, c, ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Summary["created"] != 3 || d.Summary["unchanged"] != 1 || d.Summary["conflict"] != 1 {
				t.Errorf("summary %v", d.Summary)
			}
		})
	}
}

func TestRewriteRestoresTheFileWhenAReferenceNoLongerResolves(t *testing.T) {
	s := server(t)
	root := client(t, s, s.Token)
	ctx := context.Background()
	const src = "# keep me\nPW=CANARY-restore-1\n"
	file := writeFile(t, filepath.Join(t.TempDir(), "restore", ".env"), src)

	// Another writer changes the secret right after apply's read-back,
	// before the rewritten file is checked against Vault.
	var gets atomic.Int32
	base := client(t, s, s.Token)
	c := &vaultclient.Client{Client: base.Client.WithResponseCallbacks(func(r *api.Response) {
		if r.Request != nil && r.Request.Method == http.MethodGet && strings.Contains(r.Request.URL.Path, "/restore/default") {
			if gets.Add(1) == 2 { // 1: observe, 2: read-back
				root.KV("secret").Put(ctx, "restore/default", map[string]any{"PW": "theirs"}, -1)
			}
		}
	})}
	b := plan(t, c, []Source{{File: file}}, Mapping{}, Options{})
	d, err := b.Apply(ctx, c, ApplyOptions{Rewrite: true})
	if !fault.Is(err, fault.Conflict) {
		t.Fatalf("Apply error = %v; want a conflict found by the rewrite check", err)
	}
	if h := fault.Hint(err); !strings.Contains(h, "the file was restored") {
		t.Errorf("hint = %q", h)
	}
	if got, _ := os.ReadFile(file); string(got) != src {
		t.Errorf("file = %q; want the original back", got)
	}
	if len(d.Files) != 1 || d.Files[0].Backup == "" {
		t.Fatalf("files = %+v; want the backup reported", d.Files)
	}
	kept, err := os.ReadFile(d.Files[0].Backup)
	if err != nil || string(kept) != src {
		t.Errorf("backup = %q, %v; want the original", kept, err)
	}
	if st, _ := os.Stat(d.Files[0].Backup); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode = %v; want 0600", st)
	}
	for _, it := range d.Items {
		if it.FileChange != "" {
			t.Errorf("%s reported as %s although the file was restored", it.Key, it.FileChange)
		}
	}
}
