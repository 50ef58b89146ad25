package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// seedFiles adds the shipped files of policies/<sub> to f's corpus.
func seedFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("../../policies", pattern))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// The parsers read files anyone with commit access can change; they must
// fail with an error, never panic, whatever the bytes.

func FuzzParseACL(f *testing.F) {
	seedFiles(f, "acl/*.hcl")
	f.Add([]byte("path \"x\" {\n capabilities = [\"read\", 1]\n}\n"))
	f.Add([]byte("path {\n}\npath \"a\" \"b\" {}\n"))
	f.Add([]byte("path \"x\" { capabilities = null }"))
	f.Add([]byte("path \"x\" { capabilities = [\"read\"] \n policy = \"read\" }"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParseACL("acl/fuzz.hcl", src)
		if err == nil && (p == nil || len(p.Rules) == 0) {
			t.Errorf("ParseACL = %+v, nil; want rules or an error", p)
		}
	})
}

func FuzzParseAppRole(f *testing.F) {
	seedFiles(f, "approles/*.hcl")
	f.Add([]byte("policies = [\"a\"]\ntoken_ttl = 1e100\n"))
	f.Add([]byte("policies = [\"a\"]\nsecret_id_num_uses = 1.5\n"))
	f.Add([]byte("policies = [\"a\"]\ntoken_bound_cidrs = [\"::1/128\"]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		a, err := ParseAppRole("approles/fuzz.hcl", src)
		if err == nil && len(a.Policies) == 0 {
			t.Errorf("ParseAppRole = %+v, nil; want policies or an error", a)
		}
	})
}

func FuzzParseMatrix(f *testing.F) {
	seedFiles(f, "matrix.hcl")
	f.Add([]byte("row \"r\" {\n identity = \"a\"\n path = \"\"\n capability = \"read\"\n expect = \"allow\"\n}\n"))
	f.Add([]byte("row \"\" {}\n"))
	f.Add([]byte("row \"r\" {\n identity = \"a\"\n path = \"p\"\n capability = \"patch\"\n expect = \"deny\"\n data = { a = [1, { b = null }] }\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		rows, err := ParseMatrix("matrix.hcl", src)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Path == "" || (r.Expect != Allow && r.Expect != Deny) || !(operations[r.Operation] || r.Operation == OpLogin) {
				t.Errorf("ParseMatrix accepted an invalid row %+v", r)
			}
			if (r.Operation == OpLogin) != (r.Login != "") {
				t.Errorf("ParseMatrix gave row %+v operation %q with login %q", r, r.Operation, r.Login)
			}
			var body map[string]any
			if r.Data != nil && (json.Unmarshal(r.Data, &body) != nil || (r.Operation != OpWrite && r.Operation != OpPatch)) {
				t.Errorf("ParseMatrix accepted data %s on row %+v: want a JSON object on a write or patch", r.Data, r)
			}
		}
	})
}
