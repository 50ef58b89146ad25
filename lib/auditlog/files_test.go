package auditlog_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/auditlog"
)

func TestLogFilesTakesTheSetAndItsArchives(t *testing.T) {
	dir := t.TempDir()
	archive := "audit-" + time.Date(2026, 12, 1, 19, 40, 0, 0, time.UTC).Format(auditlog.StampFormat) + ".log.zst"
	in := []string{"audit.log", "audit.log.1", "audit.log.2.gz", "audit-20261130.log.gz", archive}
	out := []string{"audit.log.bak", "other.log", "audit-x.log", "auditlog", "audit.log.zip"}
	for _, n := range append(append([]string{}, in...), out...) {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "audit.log.3"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := auditlog.LogFiles(dir, "audit")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range in {
		want = append(want, filepath.Join(dir, n))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LogFiles(dir, audit) = %v; want %v", got, want)
	}
}
