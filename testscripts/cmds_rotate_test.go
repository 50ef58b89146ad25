package testscripts

import (
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands for the vault-rotate scripts:
//
//	wait-file FILE     wait until FILE exists (at most 2 minutes), e.g. a
//	                   marker a hook writes while it runs
func init() {
	commands["wait-file"] = cmdWaitFile
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
