package rotation

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jackc/pgx/v5"

	"github.com/vaultpipe/vaultpipe/lib/pgtest"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// pgHook is a test hook that logs in to PostgreSQL as the request's
// username with its value, through a 0600 passfile (never argv or env).
const pgHook = `read -r req
u=$(printf '%s' "$req" | jq -r .username)
umask 077
d=$(mktemp -d)
printf '127.0.0.1:%s:postgres:%s:%s\n' "$1" "$u" "$(printf '%s' "$req" | jq -r .value)" > "$d/pass"
PGPASSFILE="$d/pass" psql -w -h 127.0.0.1 -p "$1" -U "$u" -d postgres -tAc 'select 1' >/dev/null 2>&1
rc=$?
rm -rf "$d"
if [ $rc -eq 0 ]; then echo '{"ok": true}'; else echo '{"ok": false, "message": "login failed"}'; exit 1; fi
`

type pgEnv struct {
	pg     *pgtest.Server
	vc     *vaultclient.Client
	engine *Engine
}

func setupDatabase(t *testing.T, policyText string) *pgEnv {
	t.Helper()
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pg.URL(pg.User, pg.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, u := range []string{"app_user", "app_a", "app_b"} {
		if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD 'initial-%s-password'`, u, u)); err != nil {
			t.Fatal(err)
		}
	}
	srv := vaulttest.Start(t)
	vc, err := vaultclient.New(ctx, srv.Flags(), vaultclient.Options{Getenv: func(k string) string {
		if k == "VAULT_TOKEN" {
			return srv.Token
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := vc.Sys().Mount("database", &api.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Write(ctx, "database/config/pg", map[string]any{
		"plugin_name":    "postgresql-database-plugin",
		"connection_url": fmt.Sprintf("postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", pg.Port),
		"username":       pg.User, "password": pg.Password, "allowed_roles": "*", "verify_connection": true,
	}); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(t.TempDir(), "pg-test.sh")
	if err := os.WriteFile(hook, []byte(pgHook), 0o755); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(policyText, hook, pg.Port)
	pol, err := Parse("rotation.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return &pgEnv{pg: pg, vc: vc, engine: &Engine{Client: vc, Policy: pol, RotatedBy: "test"}}
}

// clientLoop queries PostgreSQL until stop is closed: each operation opens a
// new connection with the credential it last read (re-reading it once after
// a failed login), and a connection opened before the first rotation runs
// a query every round. It returns operations, retries and failures.
func clientLoop(t *testing.T, e *pgEnv, read func() (string, string), stop chan struct{}) func() (int64, int64, int64) {
	ctx := context.Background()
	u, p := read()
	long, err := pgx.Connect(ctx, e.pg.URL(u, p))
	if err != nil {
		t.Fatalf("first login: %v", err)
	}
	var ops, retries, failures atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer long.Close(ctx)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ops.Add(1)
			if _, err := long.Exec(ctx, "select 1"); err != nil {
				failures.Add(1)
				t.Errorf("long-lived connection: %v", err)
			}
			c, err := pgx.Connect(ctx, e.pg.URL(u, p))
			if err != nil {
				retries.Add(1)
				// Vault changes the password in PostgreSQL before it stores
				// it: a read in between still gets the old one. The one
				// retry waits a moment, as a client's backoff would.
				time.Sleep(500 * time.Millisecond)
				u, p = read()
				if c, err = pgx.Connect(ctx, e.pg.URL(u, p)); err != nil {
					failures.Add(1)
					t.Errorf("login after one retry: %v", err)
					continue
				}
			}
			if _, err := c.Exec(ctx, "select 1"); err != nil {
				failures.Add(1)
			}
			c.Close(ctx)
		}
	}()
	return func() (int64, int64, int64) {
		wg.Wait()
		return ops.Load(), retries.Load(), failures.Load()
	}
}

func TestStaticRoleRotationKeepsClientsWorking(t *testing.T) {
	weeklyRole := `
database "app-weekly" {
  db_name  = "pg"
  username = "app_a"
  schedule = "0 3 * * 0"
}
`
	openbao := os.Getenv("VAULT_FLAVOR") == "openbao"
	if openbao {
		weeklyRole = "" // OpenBao has no rotation_schedule for static roles
	}
	e := setupDatabase(t, `
database "app" {
  db_name  = "pg"
  username = "app_user"
  period   = "24h"
  test {
    command = ["sh", %q, "%d"]
  }
}
`+weeklyRole)
	ctx := context.Background()
	res, err := e.engine.Databases(ctx, false)
	if err != nil || len(res) != len(e.engine.Policy.Databases) || res[0].Action != "configured" || res[len(res)-1].Action != "configured" {
		t.Fatalf("Databases = %+v, %v; want all configured", res, err)
	}
	role, err := e.vc.Read(ctx, "database/static-roles/app")
	if err != nil || vaultclient.Int(role.Data["rotation_period"]) != 86400 || role.Data["username"] != "app_user" {
		t.Fatalf("static role app = %v, %v", role, err)
	}
	if !openbao {
		weekly, err := e.vc.Read(ctx, "database/static-roles/app-weekly")
		if err != nil || weekly.Data["rotation_schedule"] != "0 3 * * 0" {
			t.Fatalf("static role app-weekly = %v, %v", weekly, err)
		}
	}
	if res, _ := e.engine.Databases(ctx, false); res[0].Action != "unchanged" || res[len(res)-1].Action != "unchanged" {
		t.Fatalf("second Databases = %+v; want unchanged", res)
	}
	read := func() (string, string) {
		u, p, err := e.engine.creds(ctx, e.engine.Policy.Databases[0], "app")
		if err != nil {
			t.Error(err)
		}
		return u, p
	}
	_, before := read()
	stop := make(chan struct{})
	wait := clientLoop(t, e, read, stop)
	for i := 0; i < 3; i++ {
		time.Sleep(300 * time.Millisecond) // let the loop run between rotations
		r, err := e.engine.RotateStatic(ctx, e.engine.Policy.Databases[0])
		if err != nil || r.Action != "rotated" {
			t.Fatalf("RotateStatic = %+v, %v", r, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	ops, retries, failures := wait()
	if _, after := read(); after == before {
		t.Fatal("the password did not change")
	}
	t.Logf("%d operations, %d retries, %d failures across 3 rotations", ops, retries, failures)
	if failures != 0 || ops < 10 || retries > 3 {
		t.Fatalf("client loop: %d operations, %d retries, %d failures; want no failure, at most one retry per rotation", ops, retries, failures)
	}
}

func TestAlternateUsersSwitchWithoutErrors(t *testing.T) {
	e := setupDatabase(t, `
database "app" {
  db_name   = "pg"
  strategy  = "alternate"
  usernames = ["app_a", "app_b"]
  path      = "app/pg"
  test {
    command = ["sh", %q, "%d"]
  }
}
`)
	ctx := context.Background()
	d := e.engine.Policy.Databases[0]
	res, err := e.engine.Databases(ctx, false)
	if err != nil || len(res) != 3 || res[2].Action != "rotated" || res[2].Role != "app-a" {
		t.Fatalf("Databases = %+v, %v; want two roles configured and app-a switched to", res, err)
	}
	kv := e.vc.KV("secret")
	read := func() (string, string) {
		s, err := kv.Get(ctx, "app/pg", 0)
		if err != nil {
			t.Error(err)
			return "", ""
		}
		return s.Data["username"].(string), s.Data["password"].(string)
	}
	if u, _ := read(); u != "app_a" {
		t.Fatalf("app/pg username = %q; want app_a", u)
	}
	// Not due again yet.
	if r, err := e.engine.Alternate(ctx, d, false, false); err != nil || r.Action != "not_due" {
		t.Fatalf("Alternate = %+v, %v; want not_due", r, err)
	}
	stop := make(chan struct{})
	wait := clientLoop(t, e, read, stop)
	want := []string{"app_b", "app_a", "app_b"}
	for i, w := range want {
		time.Sleep(300 * time.Millisecond)
		prevU, prevP := read()
		r, err := e.engine.Alternate(ctx, d, true, false)
		if err != nil || r.Action != "rotated" || r.Username != w {
			t.Fatalf("switch %d: Alternate = %+v, %v; want rotated to %s", i, r, err, w)
		}
		// The user readers had until now still logs in: pools drain calmly.
		c, err := pgx.Connect(ctx, e.pg.URL(prevU, prevP))
		if err != nil {
			t.Fatalf("switch %d: the previous user %s no longer logs in: %v", i, prevU, err)
		}
		c.Close(ctx)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	ops, retries, failures := wait()
	t.Logf("%d operations, %d retries, %d failures across 3 switches", ops, retries, failures)
	// A reader that never re-reads meets its user's new password two
	// switches later: one retry then, never a failure.
	if failures != 0 || retries > 3 || ops < 10 {
		t.Fatalf("client loop: %d operations, %d retries, %d failures; want none failed, at most one retry per switch", ops, retries, failures)
	}
	hist, err := e.engine.History(ctx, "app/pg")
	if err != nil || len(hist) != 4 || hist[3].Stage != "current" || hist[2].Stage != "previous" || hist[3].RotatedBy != "test" {
		t.Fatalf("History(app/pg) = %+v, %v", hist, err)
	}
}
