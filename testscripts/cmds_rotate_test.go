package testscripts

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/pgtest"
)

// Commands for the vault-rotate scripts:
//
//	wait-file FILE     wait until FILE exists (at most 2 minutes), e.g. a
//	                   marker a hook writes while it runs
//	pg-up              start a throwaway PostgreSQL (lib/pgtest) on 127.0.0.1;
//	                   exports PGHOST, PGPORT, PGUSER (the superuser) and
//	                   PGPASSFILE ($WORK/.pgpass, 0600) so that psql logs in, and
//	                   writes $WORK/pg-password (the superuser's, 0600, no newline)
//	                   and $WORK/pg.port for hooks
func init() {
	commands["wait-file"] = cmdWaitFile
	commands["pg-up"] = cmdPgUp
}

func cmdPgUp(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: pg-up")
	}
	pg, err := pgtest.Start()
	if err != nil {
		ts.Fatalf("pg-up: %v", err)
	}
	ts.Defer(pg.Close)
	port := strconv.Itoa(pg.Port)
	pass := ts.MkAbs(".pgpass")
	ts.Check(os.WriteFile(pass, []byte(fmt.Sprintf("127.0.0.1:%s:*:%s:%s\n", port, pg.User, pg.Password)), 0o600))
	ts.Check(os.WriteFile(ts.MkAbs("pg-password"), []byte(pg.Password), 0o600))
	ts.Check(os.WriteFile(ts.MkAbs("pg.port"), []byte(port+"\n"), 0o644))
	ts.Setenv("PGHOST", "127.0.0.1")
	ts.Setenv("PGPORT", port)
	ts.Setenv("PGUSER", pg.User)
	ts.Setenv("PGPASSFILE", pass)
}

func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: wait-file FILE")
	}
	p := ts.MkAbs(args[0])
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("wait-file: %s did not appear within 2 minutes", args[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rotateExitCases are vault-rotate's cases for TestExitCodes. Exit 3 needs
// a secret that no rule covers: one is written to the active server here.
func rotateExitCases(t *testing.T, s *servers, root []string, bogus string) map[int]exitCase {
	if _, err := s.active.Client().KV("secret").Put(context.Background(), "exitcodes-rotate/uncovered", map[string]any{"value": "exitcodes-rotate-uncovered"}, -1); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"rotation.hcl": "secret \"exitcodes-rotate/covered\" {\n  key = \"value\"\n}\n",
		"policies/acl/rotator.hcl": "path \"secret/data/*\" {\n  capabilities = [\"create\", \"update\", \"read\"]\n}\n" +
			"path \"secret/metadata/*\" {\n  capabilities = [\"read\", \"list\", \"patch\"]\n}\n",
	}
	due := []string{"due", "-f", "rotation.hcl"}
	return map[int]exitCase{
		0: {args: due, env: root, files: files},
		1: {args: []string{"due", "-f", "missing.hcl"}, env: root},
		2: {args: []string{"run", "--no-such-flag"}, env: root},
		3: {args: []string{"lint", "-f", "rotation.hcl", "--policies", "policies"}, env: root, files: files},
		4: {args: due, env: s.env(s.sealed, s.sealed.Token), files: files},
		5: {args: due, env: s.env(s.uninit, bogus), files: files},
		6: {args: due, env: s.env(s.active, bogus), files: files},
	}
}
