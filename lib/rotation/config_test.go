package rotation

import (
	"strings"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/policy"
)

func TestParseErrorsNamePosition(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"bad duration", "secret \"a/b\" {\n  period = \"90x\"\n}\n", "rotation.hcl:2:12: period: invalid period \"90x\""},
		{"unknown block", "secrets \"a/b\" {}\n", "rotation.hcl:1:1: unknown block \"secrets\""},
		{"unknown nested block", "secret \"a/b\" {\n  hook {}\n}\n", "rotation.hcl:2:3: secret \"a/b\": unknown block \"hook\""},
		{"unknown argument", "secret \"a/b\" {\n  kee = \"x\"\n}\n", "rotation.hcl:2:3: secret: unknown argument \"kee\""},
		{"duplicate path", "secret \"a/b\" {}\n\nsecret \"a/b\" {}\n", "rotation.hcl:3:1: secret \"a/b\" key \"value\" is declared twice (also at line 1)"},
		{"unknown class", "secret \"a/b\" {\n  class = \"db\"\n}\n", "rotation.hcl:2:11: secret \"a/b\": unknown class \"db\""},
		{"hook without command", "secret \"a/b\" {\n  test {}\n}\n", "rotation.hcl:2:3: \"a/b\": test hook has no command"},
		{"bad window", "secret \"a/b\" {\n  window {\n    hours = \"25-3\"\n  }\n}\n", "rotation.hcl:3:13: \"a/b\": window: invalid hours"},
		{"bad class require", "secret \"a/b\" {\n  generate {\n    alphabet = \"hex\"\n    require = [\"upper\"]\n  }\n}\n", "alphabet has no upper character"},
		{"syntax", "secret \"a/b\" {\n", "rotation.hcl:1:14: unclosed configuration block"},
		{"staging path", "secret \"_rotation/x\" {}\n", "rotation.hcl:1:8: secret \"_rotation/x\": _rotation/ holds"},
		{"alternate without path", "database \"app\" {\n  db_name = \"pg\"\n  strategy = \"alternate\"\n  usernames = [\"a\", \"b\"]\n}\n", "rotation.hcl:1:1: database \"app\": strategy alternate needs path"},
		{"bad cron", "database \"app\" {\n  db_name = \"pg\"\n  username = \"a\"\n  schedule = \"daily\"\n}\n", "rotation.hcl:4:14: database \"app\": schedule \"daily\": want a 5-field cron"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("rotation.hcl", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %v; want an error containing %q", tc.src, err, tc.want)
			}
		})
	}
}

func TestParseDefaultsAndClasses(t *testing.T) {
	src := `
defaults {
  grace = "2d"
  keep_versions = 30
}
class "other" { period = "180d" }
secret "app/db" {
  key = "password"
  class = "database"
  window {
    weekdays = ["Mon..Fri"]
    hours = "02:00-05:00"
  }
  generate {
    length = 20
    alphabet = "hex"
    require = ["digit"]
  }
  set {
    command = ["/bin/set-it"]
    timeout = "5s"
  }
  test { command = ["/bin/test-it"] }
}
secret "app/*" {}
database "app-ro" {
  db_name = "pg"
  username = "app_ro"
}
`
	pol, err := Parse("rotation.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	db := pol.Match("app/db")
	if db == nil || db.Key != "password" || db.Schedule.Every != 90*24*time.Hour || db.Grace != 48*time.Hour || db.KeepVersions != 30 {
		t.Fatalf("app/db rule = %+v", db)
	}
	if db.Set.Timeout != 5*time.Second || db.Test.Timeout != time.Minute || db.Generate.Length != 20 || db.Generate.Alphabet != alphabets["hex"] {
		t.Fatalf("app/db hooks or generator = %+v %+v %+v", db.Set, db.Test, db.Generate)
	}
	other := pol.Match("app/deep/thing")
	if other == nil || other.Path != "app/*" || other.Schedule.Every != 180*24*time.Hour || other.Key != "value" {
		t.Fatalf("app/deep/thing rule = %+v", other)
	}
	if pol.Match("other/x") != nil {
		t.Fatal("other/x matched a rule")
	}
	if len(pol.Databases) != 1 || pol.Databases[0].Period != 90*24*time.Hour {
		t.Fatalf("databases = %+v", pol.Databases)
	}
	mon := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC) // a Monday
	if !db.Window.Allows(mon) || db.Window.Allows(mon.Add(3*time.Hour)) || db.Window.Allows(mon.AddDate(0, 0, 5)) {
		t.Fatal("window does not hold Mon..Fri 02:00-05:00")
	}
}

func TestCheckWritable(t *testing.T) {
	acl, err := policy.ParseACL("acl/rotator.hcl", []byte(`
path "secret/data/app/*" { capabilities = ["create", "update", "read"] }
path "secret/data/_rotation/*" { capabilities = ["create", "update", "read"] }
path "secret/metadata/*" { capabilities = ["read", "list", "patch"] }
path "secret/data/app/locked" { capabilities = ["read"] }
`))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := Parse("rotation.hcl", []byte("secret \"app/db\" {}\n\nsecret \"app/locked\" {}\n\nsecret \"other/x\" {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = pol.CheckWritable(acl)
	if err == nil {
		t.Fatal("CheckWritable = nil; want errors for app/locked and other/x")
	}
	msg := err.Error()
	for _, want := range []string{
		"rotation.hcl:3:1: secret \"app/locked\": policy rotator (acl/rotator.hcl) does not grant create, update on secret/data/app/locked",
		"rotation.hcl:5:1: secret \"other/x\": policy rotator (acl/rotator.hcl) does not grant create, update, read on secret/data/other/x",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("CheckWritable error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "app/db") {
		t.Errorf("CheckWritable reported app/db, which the policy grants:\n%s", msg)
	}
}

func TestShippedPolicyIsWritableByRotator(t *testing.T) {
	pol, err := Load("../../policies/rotation.hcl")
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.LoadDir("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	if err := pol.CheckWritable(set.Policy("rotator")); err != nil {
		t.Fatal(err)
	}
}
