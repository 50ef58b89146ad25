package testscripts

import (
	"fmt"

	"github.com/rogpeppe/go-internal/testscript"
)

// vault-pid exports VAULT_PID, the process id of the script's server (for
// audit-archive --pid: SIGHUP makes Vault reopen its audit logs).
func init() {
	commands["vault-pid"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 0 {
			ts.Fatalf("usage: vault-pid")
		}
		s := state(ts).vault
		if s == nil || !s.Running() {
			ts.Fatalf("vault-pid: no running server; run vault-up first")
		}
		ts.Setenv("VAULT_PID", fmt.Sprint(s.PID()))
	}
}
