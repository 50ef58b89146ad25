package testscripts

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// Commands for the vault-policy scripts:
//
//	shipped-policies DIR
//	                   copy the repository's policies/ into DIR, to sync or edit
//	no-secret-file SECRETFILE FILE...
//	                   like no-secret, with the value read from SECRETFILE (for
//	                   secrets Vault generated, such as a secret_id)
func init() {
	commands["shipped-policies"] = cmdShippedPolicies
	commands["no-secret-file"] = cmdNoSecretFile
}

func cmdShippedPolicies(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: shipped-policies DIR")
	}
	root, err := vaulttest.RepoRoot()
	ts.Check(err)
	src := filepath.Join(root, "policies")
	dst := ts.MkAbs(args[0])
	err = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	ts.Check(err)
}

func cmdNoSecretFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: no-secret-file SECRETFILE FILE...")
	}
	value := strings.TrimSpace(ts.ReadFile(args[0]))
	if len(value) < 6 {
		ts.Fatalf("no-secret-file: %s holds fewer than 6 bytes", args[0])
	}
	for _, name := range args[1:] {
		if strings.Contains(ts.ReadFile(name), value) {
			ts.Fatalf("no-secret-file: %s contains the secret from %s", name, args[0])
		}
	}
}
