package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// DBResult is one line of vault-rotate run about a database credential.
type DBResult struct {
	Database   string `json:"database"`
	Role       string `json:"role,omitempty"`
	Action     string `json:"action"` // configured, unchanged, would_configure, rotated, not_due, busy, failed
	Username   string `json:"username,omitempty"`
	Version    int    `json:"version,omitempty"`
	RotationID string `json:"rotation_id,omitempty"`
	Error      string `json:"error,omitempty"`
}

// DatabaseByPath returns the database whose name or KV path is p.
func (pol *Policy) DatabaseByPath(p string) *Database {
	p = strings.Trim(p, "/")
	for _, d := range pol.Databases {
		if d.Name == p || (d.Path != "" && d.Path == p) {
			return d
		}
	}
	return nil
}

// alternatePeriod is the rotation_period of the two roles of an alternate
// database: vault-rotate switches between them, and Vault itself should
// not rotate the one in use.
const alternatePeriod = 10 * 365 * 24 * time.Hour

// staticRole is the desired definition of a static role.
func (d *Database) staticRole(i int) map[string]any {
	role := map[string]any{"db_name": d.DBName, "username": d.Usernames[i]}
	switch {
	case d.Strategy == "alternate":
		role["rotation_period"] = int64(alternatePeriod / time.Second)
	case d.CronSched != "":
		role["rotation_schedule"] = d.CronSched
	default:
		role["rotation_period"] = int64(d.Period / time.Second)
	}
	return role
}

// Databases makes every database's static roles match the policy and, for
// alternate databases, switches users when due.
func (e *Engine) Databases(ctx context.Context, dryRun bool) ([]DBResult, error) {
	e.init()
	var out []DBResult
	failed := 0
	for _, d := range e.Policy.Databases {
		rs := e.configure(ctx, d, dryRun)
		for _, r := range rs {
			if r.Action == "failed" {
				failed++
			}
		}
		out = append(out, rs...)
		if d.Strategy == "alternate" {
			r, err := e.Alternate(ctx, d, false, dryRun)
			out = append(out, r)
			if err != nil {
				failed++
			}
		}
	}
	if failed > 0 {
		return out, fault.Errorf(fault.Unknown, "%d database rotation step(s) failed (see the report)", failed)
	}
	return out, nil
}

// configure creates or updates d's static roles.
func (e *Engine) configure(ctx context.Context, d *Database, dryRun bool) []DBResult {
	var out []DBResult
	for i, role := range d.Roles() {
		res := DBResult{Database: d.Name, Role: role, Username: d.Usernames[i]}
		want := d.staticRole(i)
		p := d.Mount + "/static-roles/" + role
		cur, err := e.Client.Read(ctx, p)
		if err != nil && !fault.Is(err, fault.NotFound) {
			res.Action, res.Error = "failed", err.Error()
			out = append(out, res)
			continue
		}
		if err == nil && sameRole(cur.Data, want) {
			res.Action = "unchanged"
			out = append(out, res)
			continue
		}
		if dryRun {
			res.Action = "would_configure"
			out = append(out, res)
			continue
		}
		if err == nil {
			if fmt.Sprint(cur.Data["username"]) != d.Usernames[i] || fmt.Sprint(cur.Data["db_name"]) != d.DBName {
				res.Action, res.Error = "failed", fmt.Sprintf("static role %s exists for %v on %v; the policy says %s on %s", role, cur.Data["username"], cur.Data["db_name"], d.Usernames[i], d.DBName)
				out = append(out, res)
				continue
			}
			// An existing role: only its schedule changes (all the rotator
			// may change; it never binds a role to another user).
			for _, k := range []string{"db_name", "username"} {
				delete(want, k)
			}
		}
		if _, err := e.Client.Write(ctx, p, want); err != nil {
			res.Action, res.Error = "failed", err.Error()
		} else {
			res.Action = "configured"
		}
		out = append(out, res)
	}
	return out
}

func sameRole(have, want map[string]any) bool {
	for k, v := range want {
		h, ok := have[k]
		if !ok {
			return false
		}
		switch wv := v.(type) {
		case int64:
			if int64(vaultclient.Int(h)) != wv {
				return false
			}
		default:
			if fmt.Sprint(h) != fmt.Sprint(wv) {
				return false
			}
		}
	}
	return true
}

// RotateStatic rotates a static role's password now (database/rotate-role)
// and runs the database's test hook with the new credential.
func (e *Engine) RotateStatic(ctx context.Context, d *Database) (DBResult, error) {
	role := d.Roles()[0]
	res := DBResult{Database: d.Name, Role: role, Username: d.Usernames[0]}
	if _, err := e.Client.Write(ctx, d.Mount+"/rotate-role/"+role, nil); err != nil {
		res.Action, res.Error = "failed", err.Error()
		return res, err
	}
	if err := e.testCreds(ctx, d, role, newID()); err != nil {
		res.Action, res.Error = "failed", err.Error()
		return res, fault.New(fault.Unknown, "", role, err)
	}
	res.Action = "rotated"
	return res, nil
}

func (e *Engine) creds(ctx context.Context, d *Database, role string) (string, string, error) {
	s, err := e.Client.Read(ctx, d.Mount+"/static-creds/"+role)
	if err != nil {
		return "", "", err
	}
	u, _ := s.Data["username"].(string)
	pw, _ := s.Data["password"].(string)
	if u == "" || pw == "" {
		return "", "", fmt.Errorf("%s/static-creds/%s: no username or password", d.Mount, role)
	}
	return u, pw, nil
}

func (e *Engine) testCreds(ctx context.Context, d *Database, role, id string) error {
	if d.Test == nil {
		return nil
	}
	u, pw, err := e.creds(ctx, d, role)
	if err != nil {
		return err
	}
	_, err = RunHook(ctx, d.Test, HookRequest{Action: "test", Path: d.Mount + "/static-creds/" + role, Key: "password", Username: u, Value: pw, RotationID: id})
	return err
}

// Alternate switches an alternate database to its other user: rotate the
// idle role's password (set), prove it (test), then CAS-write the KV secret
// readers use (finish). The user in use until now keeps working, untouched,
// until the next switch, so open pools drain without errors. The staging
// record (same as for KV secrets) holds the role, never a password.
func (e *Engine) Alternate(ctx context.Context, d *Database, force, dryRun bool) (DBResult, error) {
	e.init()
	res := DBResult{Database: d.Name}
	fail := func(err error) (DBResult, error) {
		res.Action, res.Error = "failed", err.Error()
		return res, err
	}
	kv := e.Client.KV(e.Policy.Mount)
	rec, recVer, err := e.readRecord(ctx, d.Path)
	if err != nil {
		return fail(err)
	}
	if rec.active() {
		if e.ownerAlive(rec) {
			res.Action, res.RotationID = "busy", rec.RotationID
			return res, fault.Errorf(fault.Contested, "database %s: held by another run", d.Name)
		}
		if dryRun {
			res.Action = "would_resume"
			return res, nil
		}
		if recVer, err = e.writeRecord(ctx, rec, recVer); err != nil {
			return fail(err)
		}
	} else {
		base, active := 0, ""
		m, err := e.readMeta(ctx, d.Path)
		switch {
		case fault.Is(err, fault.NotFound):
		case err != nil:
			return fail(err)
		default:
			base = m.Current
			t := &Target{Path: d.Path, Rule: &Rule{Key: "password", Schedule: d.Schedule}, meta: m}
			if !force && e.Due(t).DueAt.After(e.now()) {
				res.Action = "not_due"
				return res, nil
			}
			cur, err := kv.Get(ctx, d.Path, base)
			if err != nil && !fault.Is(err, fault.NotFound) {
				return fail(err)
			}
			if cur != nil {
				active, _ = cur.Data["role"].(string)
			}
		}
		next := d.Roles()[0]
		if active == next {
			next = d.Roles()[1]
		}
		if dryRun {
			res.Action, res.Role = "would_rotate", next
			return res, nil
		}
		rec = &record{Stage: StageCreated, RotationID: newID(), Path: d.Path, Key: "role:" + next, BaseVersion: base,
			StartedAt: e.now().Format(time.RFC3339), RotatedBy: e.RotatedBy}
		if recVer, err = e.writeRecord(ctx, rec, recVer); err != nil {
			if fault.Is(err, fault.Conflict) {
				res.Action = "busy"
				return res, fault.Errorf(fault.Contested, "database %s: held by another run", d.Name)
			}
			return fail(err)
		}
		e.kill("created")
	}
	role := strings.TrimPrefix(rec.Key, "role:")
	res.Role, res.RotationID = role, rec.RotationID
	step := func(stage string) error {
		rec.Stage = stage
		v, err := e.writeRecord(ctx, rec, recVer)
		recVer = v
		return err
	}
	for rec.Stage != StageFinished {
		switch rec.Stage {
		case StageCreated:
			if _, err := e.Client.Write(ctx, d.Mount+"/rotate-role/"+role, nil); err != nil {
				return fail(err)
			}
			e.kill("set-hook")
			if err := step(StageSet); err != nil {
				return fail(err)
			}
		case StageSet:
			if err := e.testCreds(ctx, d, role, rec.RotationID); err != nil {
				rec.Stage, rec.Reason = StageFailed, err.Error()
				_, _ = e.writeRecord(ctx, rec, recVer)
				return fail(err)
			}
			e.kill("test-hook")
			if err := step(StageTested); err != nil {
				return fail(err)
			}
		case StageTested:
			u, pw, err := e.creds(ctx, d, role)
			if err != nil {
				return fail(err)
			}
			v, err := kv.Put(ctx, d.Path, map[string]any{"username": u, "password": pw, "role": role}, rec.BaseVersion)
			if fault.Is(err, fault.Conflict) {
				// Promoted by us before dying, or changed by someone else.
				cur, gerr := kv.Get(ctx, d.Path, 0)
				if gerr != nil || cur.Data["role"] != role || cur.Data["password"] != pw {
					rec.Stage, rec.Reason = StageFailed, "the secret was changed by another writer during the switch"
					_, _ = e.writeRecord(ctx, rec, recVer)
					return fail(errors.New(rec.Reason))
				}
				v, err = cur.Version, nil
			}
			if err != nil {
				return fail(err)
			}
			e.kill("promoted")
			res.Version, res.Username = v, u
			if m, err := e.readMeta(ctx, d.Path); err == nil {
				t := &Target{Path: d.Path, Rule: &Rule{Key: "password", Grace: e.Policy.Defaults.Grace, KeepVersions: e.Policy.Defaults.KeepVersions}}
				if err := e.label(ctx, t, rec, v, m); err != nil {
					return fail(err)
				}
			}
			if err := step(StageFinished); err != nil {
				return fail(err)
			}
		default:
			return fail(fmt.Errorf("staging record %s: stage %q", stagingPath(d.Path), rec.Stage))
		}
	}
	res.Action = "rotated"
	return res, nil
}
