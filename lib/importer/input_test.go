package importer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvName(t *testing.T) {
	for file, want := range map[string]string{
		".env": "default", "app/.env.prod": "prod", "prod.env": "prod", "/x/.env.production.local": "production.local",
		"secrets": "secrets", ".env.": "", "x/.env": "default",
	} {
		if got := EnvName(file); got != want {
			t.Errorf("EnvName(%q) = %q; want %q", file, got, want)
		}
	}
}

func TestMappingTarget(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	tests := []struct {
		name      string
		m         Mapping
		file, key string
		want      string
		wantErr   string
	}{
		{"default template", Mapping{}, filepath.Join(dir, ".env.prod"), "DB_PASSWORD", "vault:secret/data/shop/prod#DB_PASSWORD", ""},
		{"dot env is default", Mapping{}, filepath.Join(dir, ".env"), "K", "vault:secret/data/shop/default#K", ""},
		{"app and env flags", Mapping{App: "billing", Env: "staging"}, "x/.env", "K", "vault:secret/data/billing/staging#K", ""},
		{"template and mount", Mapping{Mount: "kv/", Template: "teams/{app}-{env}"}, filepath.Join(dir, "prod.env"), "K", "vault:kv/data/teams/shop-prod#K", ""},
		{"explicit map", Mapping{Paths: map[string]string{"conf/.env": "/legacy/app/"}}, "conf/./.env", "K", "vault:secret/data/legacy/app#K", ""},
		{"rename", Mapping{App: "a", Env: "e", Rename: map[string]string{"PGPASS": "db_password"}}, ".env", "PGPASS", "vault:secret/data/a/e#db_password", ""},
		{"key layout", Mapping{App: "a", Env: "e", Layout: LayoutKey}, ".env", "API_KEY", "vault:secret/data/a/e/API_KEY#value", ""},
		{"key layout rename", Mapping{App: "a", Env: "e", Layout: LayoutKey, Rename: map[string]string{"ключ": "key1"}}, ".env", "ключ", "vault:secret/data/a/e/key1#value", ""},
		{"key layout unicode key", Mapping{App: "a", Env: "e", Layout: LayoutKey}, ".env", "ключ", "vault:secret/data/a/e/ключ#value", ""},
		{"unicode field in file layout", Mapping{App: "a", Env: "e"}, ".env", "ключ", "vault:secret/data/a/e#ключ", ""},
		{"directory name with a space", Mapping{Env: "e"}, filepath.Join(t.TempDir(), "my app", ".env"), "K", "vault:secret/data/my app/e#K", ""},
		{"bad directory name", Mapping{Env: "e"}, filepath.Join(t.TempDir(), "a?b", ".env"), "K", "", "not usable"},
		{"bad env", Mapping{App: "a", Env: "../x"}, ".env", "K", "", "not usable"},
		{"data segment in mount", Mapping{Mount: "data", App: "a", Env: "e"}, ".env", "K", "", "not usable"},
		{"unknown layout", Mapping{App: "a", Env: "e", Layout: "tree"}, ".env", "K", "", "unknown layout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.m.Target(tt.file, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Target(%q, %q) = %v, %v; want error containing %q", tt.file, tt.key, r, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Target(%q, %q) error: %v", tt.file, tt.key, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("Target(%q, %q) = %s; want %s", tt.file, tt.key, got, tt.want)
			}
		})
	}
}

func TestParsePairs(t *testing.T) {
	m, err := ParsePairs("rename", []string{"A=B", "C=D=E"})
	if err != nil || m["A"] != "B" || m["C"] != "D=E" {
		t.Errorf("ParsePairs = %v, %v", m, err)
	}
	for _, bad := range [][]string{{"A"}, {"=B"}, {"A="}, {"A=B", "A=C"}} {
		if _, err := ParsePairs("rename", bad); err == nil {
			t.Errorf("ParsePairs(%q) succeeded", bad)
		}
	}
}

func TestReadScan(t *testing.T) {
	in := `{"file":"app/.env","line":3,"column":13,"kind":"dotenv","rule":"generic-api-key","name":"API_KEY","confidence":"high","fingerprint":"app/.env:generic-api-key:3"}
{"file":"app/main.py","line":9,"column":1,"kind":"code","rule":"aws-access-token","name":"","confidence":0.9}

{"file":"app/./.env","line":4,"kind":"dotenv","name":"DB_PASSWORD"}
{"file":"app/.env","line":3,"kind":"dotenv","name":"API_KEY"}
{"file":"other/.env.prod","line":1,"kind":"dotenv","name":"TOKEN"}
`
	got, err := ReadScan(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{{File: "app/.env", Keys: []string{"API_KEY", "DB_PASSWORD"}}, {File: "other/.env.prod", Keys: []string{"TOKEN"}}}
	if len(got) != len(want) {
		t.Fatalf("ReadScan = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i].File != want[i].File || strings.Join(got[i].Keys, ",") != strings.Join(want[i].Keys, ",") {
			t.Errorf("ReadScan[%d] = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestReadScanErrorsNameTheLine(t *testing.T) {
	const canary = "sk_live_CANARY123"
	for in, want := range map[string]string{
		"{\"kind\":\"dotenv\",\"file\":\"a\",\"name\":\"K\"}\n" + canary + "\n": "scan input line 2: not an env-scan finding",
		`{"kind":"dotenv","file":"a"}`:                                          "scan input line 1: a dotenv finding needs",
		`{"kind":"dotenv","file":"a","name":"K","line":"` + canary + `"}`:       `field "line" has the wrong type`,
		`["` + canary + `"]`: "not an env-scan finding",
	} {
		_, err := ReadScan(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadScan(%q) = %v; want error containing %q", in, err, want)
			continue
		}
		if strings.Contains(err.Error(), "CANARY") {
			t.Errorf("ReadScan error %q quotes its input", err)
		}
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSelectsAndSkips(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, filepath.Join(dir, "shop", ".env"), "A=1\nREF=vault:secret/data/x/y#A\nEMPTY=\nDEBUG=true\nB_KEY=x\n")
	b, err := Load([]Source{{File: f}}, Mapping{}, Options{Skip: []string{"DEBUG"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range b.Items {
		got[it.Key] = string(it.Action) + ":" + it.Reason
	}
	want := map[string]string{
		"A": ":", "REF": "skip:already a reference", "EMPTY": "skip:empty value", "DEBUG": "skip:not selected by --only/--skip", "B_KEY": ":",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("item %s = %q; want %q", k, got[k], w)
		}
	}
	b, err = Load([]Source{{File: f}}, Mapping{}, Options{Only: []string{"*_KEY"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range b.Items {
		if (it.Action == Skip) == (it.Key == "B_KEY") {
			t.Errorf("--only *_KEY: item %s action %q", it.Key, it.Action)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	const canary = "pw_CANARY_9f8e7d"
	bad := writeFile(t, filepath.Join(dir, "a", ".env"), "A=1\nB=\""+canary+"\n")
	good := writeFile(t, filepath.Join(dir, "a", ".env.prod"), "A="+canary+"\n")
	twin := writeFile(t, filepath.Join(dir, "b", ".env.prod"), "A="+canary+"\n")
	tests := []struct {
		name    string
		sources []Source
		m       Mapping
		want    string
	}{
		{"malformed", []Source{{File: bad}}, Mapping{}, bad + ":2:3: unterminated double-quoted value of B"},
		{"missing file", []Source{{File: filepath.Join(dir, "nope")}}, Mapping{}, "no such file"},
		{"key not in file", []Source{{File: good, Keys: []string{"NOPE"}}}, Mapping{}, "no key NOPE in the file"},
		{"two files one field", []Source{{File: good}, {File: twin}}, Mapping{App: "same"}, "both map to vault:secret/data/same/prod#A"},
		{"directory", []Source{{File: dir}}, Mapping{}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.sources, tt.m, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v; want error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error %q leaks the value", err)
			}
		})
	}
}

func TestPlanDocumentHoldsNoValue(t *testing.T) {
	const canary = "hunter2-CANARY-value"
	f := writeFile(t, filepath.Join(t.TempDir(), "app", ".env"), "PW="+canary+"\nSAME="+canary+"\n")
	b, err := Load([]Source{{File: f}}, Mapping{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(b.Plan())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte(canary)) {
		t.Fatalf("plan JSON holds the value: %s", out)
	}
	if b.Items[0].ValueHMAC != b.Items[1].ValueHMAC || b.Items[0].ValueLength != len(canary) || len(b.Items[0].ValueHMAC) != 12 {
		t.Errorf("items = %+v %+v; want equal 12-hex HMACs and length %d", b.Items[0], b.Items[1], len(canary))
	}
	other, _ := Load([]Source{{File: f}}, Mapping{}, Options{})
	if other.Items[0].ValueHMAC == b.Items[0].ValueHMAC {
		t.Errorf("two runs gave the same HMAC: the key is not per run")
	}
}

func TestReadPlanRoundTrip(t *testing.T) {
	f := writeFile(t, filepath.Join(t.TempDir(), "app", ".env"), "A=1\nB=vault:secret/data/app/default#B\n")
	b, err := Load([]Source{{File: f}}, Mapping{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Items[0].Action = Create
	out, _ := json.Marshal(b.Plan())
	d, err := ReadPlan(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("ReadPlan: %v", err)
	}
	src := d.Sources()
	if len(src) != 1 || src[0].File != f || strings.Join(src[0].Keys, ",") != "A" {
		t.Errorf("Sources() = %+v", src)
	}
	r, err := d.Target(f, "A")
	if err != nil || r.String() != "vault:secret/data/app/default#A" {
		t.Errorf("Target = %v, %v", r, err)
	}
}

func TestReadPlanRejects(t *testing.T) {
	item := `{"file":"a/.env","line":1,"key":"K","mount":"secret","path":"a/b","field":"K","ref":"vault:secret/data/a/b#K","action":"create","version":0,"value_length":3,"value_hmac":"x"}`
	for in, want := range map[string]string{
		`{"format":"other","items":[]}`:                 "format is",
		`{"format":"env-import-plan/1","items":[null]}`: "item 1 is null",
		`{"format":"env-import-plan/1","items":[` + strings.Replace(item, `"create"`, `"nuke"`, 1) + `]}`:            "unknown action",
		`{"format":"env-import-plan/1","items":[` + strings.Replace(item, `a/b#K`, `x/y#K`, 1) + `]}`:                "inconsistent",
		`{"format":"env-import-plan/1","items":[` + strings.Replace(item, `"path":"a/b"`, `"path":"../b"`, 1) + `]}`: "inconsistent",
		`{"format":"env-import-plan/1","items":[` + item + `,` + item + `]}`:                                         "repeats",
		`{"format":"env-import-plan/1","items":[` + strings.Replace(item, `"version":0`, `"version":-1`, 1) + `]}`:   "negative",
		`{"format":"env-import-plan/1","items":[],"extra":1}`:                                                        "invalid JSON",
		`not json`: "syntax error",
	} {
		_, err := ReadPlan(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadPlan(%s) = %v; want error containing %q", in, err, want)
		}
	}
}

func FuzzReadScan(f *testing.F) {
	f.Add([]byte(`{"file":"a/.env","line":1,"kind":"dotenv","name":"K"}` + "\n"))
	f.Add([]byte(`{"file":"x.py","kind":"code"}` + "\n\n{}"))
	f.Add([]byte(`{"kind":"dotenv","file":"","name":"K"}`))
	f.Add([]byte("[1,2]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		srcs, err := ReadScan(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, s := range srcs {
			if s.File == "" || len(s.Keys) == 0 {
				t.Fatalf("source %+v has no file or no keys", s)
			}
		}
	})
}

func FuzzReadPlan(f *testing.F) {
	f.Add([]byte(`{"format":"env-import-plan/1","items":[{"file":"a/.env","line":1,"key":"K","mount":"secret","path":"a/b","field":"K","ref":"vault:secret/data/a/b#K","action":"create","version":0,"value_length":3,"value_hmac":"x"}]}`))
	f.Add([]byte(`{"format":"env-import-plan/1","items":[{"file":"a","key":"K","action":"skip"}]}`))
	f.Add([]byte(`{"format":"env-import-plan/1"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ReadPlan(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, s := range d.Sources() {
			for _, k := range s.Keys {
				if _, err := d.Target(s.File, k); err != nil {
					t.Fatalf("a planned key has no valid target: %v", err)
				}
			}
		}
	})
}
