package rotation

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHookGetsValueOnStdinOnly(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "hvs.canary-token-for-hook-env")
	dir := t.TempDir()
	script := writeScript(t, `cat > "$1/stdin"; env > "$1/env"; echo "$0 $*" > "$1/argv"; echo '{"ok": true}'`)
	req := HookRequest{Action: "test", Path: "app/db", Key: "password", Value: "canary-new-value-123", CurrentValue: "canary-old-value-456", RotationID: "r1"}
	if _, err := RunHook(context.Background(), &Hook{Command: []string{script, dir}, Timeout: 10 * time.Second}, req); err != nil {
		t.Fatal(err)
	}
	var got HookRequest
	b, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if err := json.Unmarshal(b, &got); err != nil || got != req {
		t.Fatalf("hook read %s (%v); want %+v", b, err, req)
	}
	for _, f := range []string{"env", "argv"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		for _, canary := range []string{"canary-new-value-123", "canary-old-value-456", "canary-token-for-hook-env"} {
			if strings.Contains(string(b), canary) {
				t.Errorf("hook %s holds %s", f, canary)
			}
		}
	}
}

func TestHookFailures(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"exit status", `echo '{"ok": false, "message": "login refused"}'; exit 4`, "exited with status 4: login refused"},
		{"not ok", `echo '{"ok": false, "message": "nope"}'`, "answered ok=false: nope"},
		{"no answer", `echo hello`, "answered no JSON line"},
		{"timeout", `sleep 30 & wait`, "timed out after 300ms and was killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := RunHook(context.Background(), &Hook{Command: []string{writeScript(t, tc.body)}, Timeout: 300 * time.Millisecond}, HookRequest{Action: "test"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("RunHook = %v; want %q", err, tc.want)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("RunHook took %s: the hook's process group was not killed", time.Since(start))
			}
		})
	}
}

func TestRandomString(t *testing.T) {
	for i := 0; i < 200; i++ {
		s, err := RandomString(8, alphabets["ascii"], []string{"lower", "upper", "digit", "symbol"})
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 8 || !strings.ContainsAny(s, classSets["lower"]) || !strings.ContainsAny(s, classSets["upper"]) ||
			!strings.ContainsAny(s, classSets["digit"]) || !strings.ContainsAny(s, classSets["symbol"]) {
			t.Fatalf("RandomString = %q: a required class is missing", s)
		}
		for _, c := range s {
			if !strings.ContainsRune(alphabets["ascii"], c) {
				t.Fatalf("RandomString = %q: %q is outside the alphabet", s, c)
			}
		}
	}
}

func TestGenerateCommand(t *testing.T) {
	script := writeScript(t, `read req; echo '{"ok": true, "value": "made-by-command"}'`)
	r := &Rule{Generate: Generator{Command: &Hook{Command: []string{script}, Timeout: 5 * time.Second}}}
	v, err := Generate(context.Background(), r, HookRequest{Path: "a"})
	if err != nil || v != "made-by-command" {
		t.Fatalf("Generate = %q, %v", v, err)
	}
}
