package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

func TestRequestResolve(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		req  Request
		kind fault.Kind
	}{
		{"nothing", Request{}, fault.Usage},
		{"plan and files", Request{PlanFile: bad, Files: []string{".env"}}, fault.Usage},
		{"plan and scan", Request{PlanFile: bad, Scan: strings.NewReader("")}, fault.Usage},
		{"missing plan", Request{PlanFile: filepath.Join(dir, "missing.json")}, fault.BadInput},
		{"broken plan", Request{PlanFile: bad}, fault.BadInput},
		{"broken scan", Request{Scan: strings.NewReader("not json\n")}, fault.BadInput},
		{"bad rename", Request{Files: []string{".env"}, Renames: []string{"NOEQUALS"}}, fault.Usage},
		{"bad map", Request{Files: []string{".env"}, Maps: []string{"=x"}}, fault.Usage},
	}
	for _, c := range cases {
		if _, err := c.req.Resolve(); fault.KindOf(err) != c.kind {
			t.Errorf("Resolve(%s) = %v (%q); want kind %q", c.name, err, fault.KindOf(err), c.kind)
		}
	}

	in, err := Request{
		Files: []string{"app/.env"}, Scan: strings.NewReader(""), Mount: "secret", Template: "{app}/{env}",
		Maps: []string{"./other/.env=legacy/etl"}, Renames: []string{"A=b"}, Only: []string{"*"}, Concurrency: 4,
	}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Sources) != 1 || in.Sources[0].File != "app/.env" || in.Plan != nil {
		t.Errorf("Resolve(files) = %+v; want the one file and no plan", in)
	}
	m := in.Targets.(Mapping)
	if m.Paths["other/.env"] != "legacy/etl" || m.Rename["A"] != "b" || in.Options.Concurrency != 4 || in.Options.Only[0] != "*" {
		t.Errorf("Resolve(files) mapping = %+v, options %+v", m, in.Options)
	}
}
