package install

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/policy"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// State is what vault-install remembers between runs, for the steps it can
// no longer check once the root token is gone.
type State struct {
	BootstrappedAt   string `json:"bootstrapped_at,omitempty"`
	RootTokenRevoked bool   `json:"root_token_revoked"`
}

// bootstrapRun is one pass of the bootstrap: each step compares the server
// with what it should be and, unless dry, changes it.
type bootstrapRun struct {
	r       *Runner
	vc      *vaultclient.Client
	dry     bool
	st      State
	changes []Change
	// mounting: secret/ is still to be mounted (a dry run cannot read
	// its configuration yet).
	mounting bool
	set      *policy.Set // --policies, when given
}

// bootstrapSteps run in this order; the root token goes last, once
// everything it was needed for is in place.
var bootstrapSteps = []func(*bootstrapRun, context.Context) error{
	(*bootstrapRun).secretsEngine,
	(*bootstrapRun).engineConfig,
	(*bootstrapRun).auditDevices,
	(*bootstrapRun).authAndPolicies,
	(*bootstrapRun).rootToken,
}

// bootstrap converges the secrets engine, audit devices, AppRole auth and
// policies, then revokes the root token. dry only reports.
func (r *Runner) bootstrap(ctx context.Context, vc *vaultclient.Client, dry bool) ([]Change, error) {
	o := r.Opts
	b := &bootstrapRun{r: r, vc: vc, dry: dry}
	if data, err := os.ReadFile(o.Path(Layout.StateFile)); err == nil {
		_ = json.Unmarshal(data, &b.st)
	}
	if !r.HasToken {
		if b.st.BootstrappedAt != "" {
			return nil, nil // done before; nothing to check it with
		}
		c := Change{Step: "bootstrap", Action: "wait", Detail: "needs the root token (--token-file with the decrypted root_token of the init file)"}
		if dry {
			return []Change{c}, nil
		}
		return []Change{c}, &Pending{Next: "bootstrap", Msg: "the bootstrap needs the root token: decrypt root_token from " + o.Path(Layout.InitFile) + " into a 0600 file and pass it with --token-file"}
	}
	for _, step := range bootstrapSteps {
		if err := step(b, ctx); err != nil {
			return b.changes, err
		}
	}
	return b.changes, nil
}

// add records a change and, unless dry, makes it.
func (b *bootstrapRun) add(c Change, do func() error) error {
	b.changes = append(b.changes, c)
	if b.dry {
		return nil
	}
	b.r.logf("%s %s %s", c.Action, c.Step, c.Path)
	return do()
}

// secretsEngine mounts KV version 2 at secret/, and refuses to take over a
// secret/ that is something else.
func (b *bootstrapRun) secretsEngine(ctx context.Context) error {
	vc := b.vc
	mounts, err := vc.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return vaultclient.Classify(err, "listing mounts", "sys/mounts")
	}
	m, ok := mounts["secret/"]
	if ok && m.Type == "kv" && m.Options["version"] == "2" {
		return nil
	}
	if ok {
		return fault.Errorf(fault.Conflict, "secret/ is mounted as %s (version %q), not kv version 2; move it away first", m.Type, m.Options["version"])
	}
	b.mounting = true
	return b.add(Change{Step: "secrets-engine", Action: "create", Path: "secret/", Detail: "kv version 2"}, func() error {
		return vaultclient.Classify(vc.Sys().MountWithContext(ctx, "secret", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}, Description: "application secrets"}), "mounting", "sys/mounts/secret")
	})
}

// engineConfig sets secret/'s engine configuration (not a mount tune):
// cas_required, so that every write names the version it replaces and no
// identity overwrites a value it has not seen; and max_versions, so that the
// history rotation keeps is the engine's (only root may set it per secret).
func (b *bootstrapRun) engineConfig(ctx context.Context) error {
	vc := b.vc
	if !b.mounting || !b.dry {
		s, err := vc.Logical().ReadWithContext(ctx, "secret/config")
		if err != nil {
			return vaultclient.Classify(err, "reading", "secret/config")
		}
		if s != nil && s.Data["cas_required"] == true && atLeast(s.Data["max_versions"], kvMaxVersions) {
			return nil
		}
	}
	return b.add(Change{Step: "secrets-engine", Action: "update", Path: "secret/config", Detail: fmt.Sprintf("cas_required, max_versions %d", kvMaxVersions)}, func() error {
		_, err := vc.Logical().WriteWithContext(ctx, "secret/config", map[string]any{"cas_required": true, "max_versions": kvMaxVersions})
		return vaultclient.Classify(err, "configuring", "secret/config")
	})
}

// kvMaxVersions is how many versions of each secret KV keeps (Vault's
// default is 10): policies/rotation.hcl's keep_versions.
const kvMaxVersions = 20

// atLeast reports whether a JSON number from Vault is at least n.
func atLeast(v any, n int64) bool {
	num, ok := v.(json.Number)
	if !ok {
		return false
	}
	i, err := num.Int64()
	return err == nil && i >= n
}

type auditDevice struct {
	name string
	opts api.EnableAuditOptions
}

const secondAuditWhy = "second audit device: Vault blocks requests when its only device fails"

// auditDeviceSpecs are the two devices the bootstrap enables: the primary file
// and a second one (file or syslog).
func (o *Options) auditDeviceSpecs() []auditDevice {
	second := auditDevice{"file-secondary", api.EnableAuditOptions{Type: "file", Description: secondAuditWhy,
		Options: map[string]string{"file_path": o.Path(Layout.AuditLog2), "mode": "0600"}}}
	if o.SecondAudit == "syslog" {
		second = auditDevice{"syslog", api.EnableAuditOptions{Type: "syslog", Description: secondAuditWhy,
			Options: map[string]string{"tag": "vault", "facility": "AUTH"}}}
	}
	return []auditDevice{
		{"file", api.EnableAuditOptions{Type: "file", Description: "primary audit log",
			Options: map[string]string{"file_path": o.Path(Layout.AuditLog), "mode": "0600"}}},
		second,
	}
}

// auditDevices enables the audit devices that are missing; one that exists
// with other settings is a conflict for the operator to resolve.
func (b *bootstrapRun) auditDevices(ctx context.Context) error {
	vc := b.vc
	audits, err := vc.Sys().ListAuditWithContext(ctx)
	if err != nil {
		return vaultclient.Classify(err, "listing audit devices", "sys/audit")
	}
	for _, d := range b.r.Opts.auditDeviceSpecs() {
		if have, ok := audits[d.name+"/"]; ok {
			if have.Type == d.opts.Type && have.Options["file_path"] == d.opts.Options["file_path"] {
				continue
			}
			return fault.Errorf(fault.Conflict, "audit device %s/ exists with other settings (type %s); disable it first", d.name, have.Type)
		}
		opts := d.opts
		if err := b.add(Change{Step: "audit-device", Action: "create", Path: d.name + "/", Detail: d.opts.Type + " " + d.opts.Options["file_path"]}, func() error {
			return vaultclient.Classify(vc.Sys().EnableAuditWithOptionsWithContext(ctx, d.name, &opts), "enabling audit device", "sys/audit/"+d.name)
		}); err != nil {
			return err
		}
	}
	return nil
}

// authAndPolicies syncs --policies (which brings its own auth methods and
// AppRoles), or without it enables AppRole auth alone.
func (b *bootstrapRun) authAndPolicies(ctx context.Context) error {
	o, vc := b.r.Opts, b.vc
	if o.Policies != "" {
		set, err := policy.LoadDir(o.Policies)
		if err != nil {
			return err
		}
		b.set = set
		prep, err := policy.Sync(ctx, vc, set, policy.SyncOptions{DryRun: b.dry})
		if prep != nil {
			for _, pc := range prep.Changes {
				if pc.Action == policy.ActionCreate || pc.Action == policy.ActionUpdate {
					b.changes = append(b.changes, Change{Step: "policy", Action: pc.Action, Path: pc.Kind + "/" + pc.Name, Detail: pc.File})
				}
			}
		}
		return err
	}
	auths, err := vc.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return vaultclient.Classify(err, "listing auth methods", "sys/auth")
	}
	if _, ok := auths["approle/"]; ok {
		return nil
	}
	return b.add(Change{Step: "auth-method", Action: "create", Path: "approle/"}, func() error {
		return vaultclient.Classify(vc.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}), "enabling auth method", "sys/auth/approle")
	})
}

// rootToken records the bootstrap in the state file, then revokes the
// token it ran with when that is the root token (unless --keep-root).
func (b *bootstrapRun) rootToken(ctx context.Context) error {
	o, vc := b.r.Opts, b.vc
	self, err := vc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return vaultclient.Classify(err, "looking up the token", "auth/token/lookup-self")
	}
	pols, _ := self.TokenPolicies()
	isRoot := slices.Contains(pols, "root")
	if !b.dry {
		b.st.BootstrappedAt = o.now().UTC().Format(time.RFC3339)
		b.st.RootTokenRevoked = isRoot && !o.KeepRoot
		data, _ := json.MarshalIndent(b.st, "", "  ")
		if err := safefile.Write(o.Path(Layout.StateFile), append(data, '\n'), 0o640); err != nil {
			return err
		}
	}
	if !isRoot || o.KeepRoot {
		return nil
	}
	if err := b.handOver(ctx); err != nil {
		return err
	}
	return b.add(Change{Step: "root-token", Action: "revoke", Detail: "emergency access goes through generate-root (scripts/emergency-root.sh)"}, func() error {
		return vaultclient.Classify(vc.Auth().Token().RevokeSelfWithContext(ctx, ""), "revoking the root token", "auth/token/revoke-self")
	})
}

// handOverApp is the AppRole that changes access control once the root
// token is gone (policies/approles/policy-sync.hcl).
const handOverApp = "policy-sync"

// handOver gives handOverApp its first credentials, when --policies
// declares it, before the root token is revoked: without them the first
// login afterwards would need generate-root. The secret_id is
// response-wrapped, so it works once and a use by anyone else shows when
// the operator's own login fails.
func (b *bootstrapRun) handOver(ctx context.Context) error {
	if b.set == nil || b.set.AppRole(handOverApp) == nil {
		return nil
	}
	o := b.r.Opts
	return b.add(Change{Step: "credentials", Action: "create", Path: Layout.HandOverSecretID,
		Detail: "AppRole " + handOverApp + ": role_id and a wrapped secret_id (single use, 8h) for the first login after the root token is revoked"}, func() error {
		cr, err := policy.Issue(ctx, b.vc, handOverApp, policy.IssueOptions{WrapTTL: 8 * time.Hour, Metadata: map[string]string{"issued_by": "vault-install"}})
		if err != nil {
			return err
		}
		return cr.WriteFiles(o.Path(Layout.HandOverRoleID), o.Path(Layout.HandOverSecretID))
	})
}
