package syspkg

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func progsAt(uses []Use) []string {
	var out []string
	for _, u := range uses {
		out = append(out, fmt.Sprintf("%s@%d", u.Program, u.Line))
	}
	return out
}

func TestFromShell(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"plain commands and pipes", "rsync -a a b\njq . x | sort\n", []string{"rsync@1", "jq@2", "sort@2"}},
		{"builtins and functions are not programs", "die() { echo x; exit 1; }\nset -e\ncd /\ndie\nprintf x\n", nil},
		{"command -v names the program it looks for", "die() { exit 1; }\ncommand -v rsync >/dev/null || die\n", []string{"rsync@2"}},
		{"wrappers run the command after their options", "timeout -s KILL 5 curl x\nenv A=1 B=2 psql -c x\nexec promtool check\nrunuser -u postgres -- pg_ctl start\nxargs -n 1 gpg <f\n",
			[]string{"timeout@1", "curl@1", "env@2", "psql@2", "promtool@3", "runuser@4", "pg_ctl@4", "xargs@5", "gpg@5"}},
		{"sh -c bodies are scripts too", "sh -c 'age-keygen -o k && openssl rand 8'\n", []string{"sh@1", "age-keygen@1", "openssl@1"}},
		{"command substitutions and conditions", "x=$(pgrep -x vault)\nif systemctl is-active v; then :; fi\n", []string{"pgrep@1", "systemctl@2"}},
		{"words with expansions are not names", "\"$venv/bin/python\" -m pip\n$tool --help\n", nil},
		{"quoted literals are names", "'jq' -r .x\n", []string{"jq@1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uses, err := FromShell("s.sh", []byte(tt.src), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := progsAt(uses); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromShell(%q) = %v; want %v", tt.src, got, tt.want)
			}
		})
	}
}

func TestFromTestscript(t *testing.T) {
	src := `# a comment: exec nothing
[!exec:promtool] skip 'needs promtool'
exec rsync -a x y
! exec psql -c 'select 1'
[linux] exits 3 env-scan .
exits-start bg vault-rotate run
exec sh -c 'jq -r .x f | age -d'
host-exec curl -sf http://127.0.0.1:8200
exec $WORK/bin/tool
stdout 'exec nothing'
-- f.sh --
#!/bin/sh
openssl version
`
	uses, err := FromTestscript("t.txtar", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"promtool@2", "rsync@3", "psql@4", "env-scan@5", "vault-rotate@6", "sh@7", "jq@7", "age@7"}
	if got := progsAt(uses); !reflect.DeepEqual(got, want) {
		t.Errorf("FromTestscript = %v; want %v", got, want)
	}
	if _, err := FromTestscript("t.txtar", []byte("exec sh -c 'unterminated\n")); err == nil || !strings.Contains(err.Error(), "t.txtar:1:") {
		t.Errorf("FromTestscript(unterminated quote) error = %v; want one naming t.txtar:1", err)
	}
}

func TestFromGo(t *testing.T) {
	src := `package p

import (
	"context"
	osexec "os/exec"
)

const tool = "promtool"

func run(ctx context.Context, log, name string, args ...string) error {
	return osexec.CommandContext(ctx, name, args...).Run()
}

func f(ctx context.Context, bin string) {
	osexec.Command("rsync", "-a")
	osexec.LookPath(tool)
	for _, t := range []string{"debootstrap", "tar"} {
		osexec.LookPath(t)
	}
	run(ctx, "log", "systemd-nspawn", "-D", ".")
	osexec.Command(bin, "version")
	osexec.Command("sh", "-c", "mount -t overlay o x && exec unshare --mount -- jq .")
}
`
	uses, err := FromGo(map[string][]byte{"p.go": []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rsync@15", "promtool@16", "debootstrap@18", "tar@18", "systemd-nspawn@20", "sh@22", "mount@22", "unshare@22", "jq@22"}
	if got := progsAt(uses); !reflect.DeepEqual(got, want) {
		t.Errorf("FromGo = %v; want %v", got, want)
	}
}

func TestFromMakefile(t *testing.T) {
	src := "GO ?= go\nTAGS ?= $(shell pkg-config --exists re2 && echo x)\n\ntest:\n\t$(GO) test ./...\n\t@# gofmt in a comment\n\t$(if $(TAGS),$(GO) vet ./...)\n\t@out=$$(gofmt -l .); [ -z \"$$out\" ]\n"
	uses, err := FromMakefile("Makefile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pkg-config@2", "go@5", "go@7", "gofmt@8"}
	if got := progsAt(uses); !reflect.DeepEqual(got, want) {
		t.Errorf("FromMakefile = %v; want %v", got, want)
	}
}

func TestFromPython(t *testing.T) {
	src := "import shutil, subprocess\nif shutil.which(\"openssl\"):\n    subprocess.run(\n        [\"openssl\", \"genrsa\"])\nsubprocess.run([go, \"build\"])\n"
	want := []string{"openssl@2", "openssl@3"}
	if got := progsAt(FromPython("t.py", []byte(src))); !reflect.DeepEqual(got, want) {
		t.Errorf("FromPython = %v; want %v", got, want)
	}
}

func TestParse(t *testing.T) {
	pkgs, err := Parse("list", []byte("# header\n\njq   # the demo\nrsync\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{{Name: "jq", Why: "the demo", Line: 3}, {Name: "rsync", Line: 4}}
	if !reflect.DeepEqual(pkgs, want) {
		t.Errorf("Parse = %+v; want %+v", pkgs, want)
	}
	for src, msg := range map[string]string{
		"jq\njq rsync\n":  "list:2: want one Debian package name",
		"jq\nJQ\n":        "list:2: want one Debian package name",
		"jq\nrsync\njq\n": "list:3: jq is listed twice (first at line 1)",
	} {
		if _, err := Parse("list", []byte(src)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Parse(%q) error = %v; want %q", src, err, msg)
		}
	}
}
