// Package broker keeps vaultpipe's unattended identities credentialed ahead
// of expiry, with no human in the loop: the broker holds one periodic token
// of its own (renewed well inside its period) and, with it, mints AppRole
// secret_ids for the roles its policy names (policies/acl/broker.hcl).
//
// Two deliveries:
//
//   - IssueRun, for a systemd unit, right before it starts: a secret_id that
//     logs in once and lives RunSecretIDTTL, response-wrapped (the unit
//     unwraps it at login, lib/vaultclient), written with the role_id into a
//     root-only directory the unit reads with LoadCredential=;
//   - Keep, for an identity that logs in many times from a file (a Dagster
//     code location): a plain secret_id re-issued once less than RenewBefore
//     of its life is left, the replaced one destroyed.
//
// Neither ever prints or logs a secret_id or token; they travel in request
// bodies and 0600 files only. Metrics (WriteMetrics) make every identity's
// expiry and the broker's failures visible before they bite.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/policy"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// What the broker asks for; policies/acl/broker.hcl pins the same values
// (allowed_parameters, max_wrapping_ttl), so a broker that asked for more
// would be refused.
const (
	// WrapTTL is how long a wrapped secret_id waits for its unit.
	WrapTTL = 5 * time.Minute
	// RunSecretIDTTL is the life of a unit's secret_id once unwrapped.
	RunSecretIDTTL = 10 * time.Minute
	// FileSecretIDTTL is the life of a kept secret_id file.
	FileSecretIDTTL = 72 * time.Hour
	// DefaultRenewBefore re-issues a kept secret_id with 60 of its 72 hours
	// left: daily, a day and a half before the 48-hour alert.
	DefaultRenewBefore = 60 * time.Hour
	// MinUsesLeft re-issues a kept secret_id with a use limit before it
	// runs out.
	MinUsesLeft = 3
)

// IssuedBy is the metadata every minted secret_id carries.
const IssuedBy = "vault-broker"

var roleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// CheckRole refuses a role name that could leave its directory or path.
func CheckRole(role string) error {
	if !roleName.MatchString(role) {
		return fault.Usagef("role %q: want an AppRole name of policies/approles (lower case, digits, - and _)", role)
	}
	return nil
}

// Token is the state of the broker's own token.
type Token struct {
	Accessor   string        // not a secret: it can look up and revoke, never authenticate
	Period     time.Duration // 0: not periodic
	TTL        time.Duration
	ExpireTime time.Time
}

// refreshHint is what to do once the broker's own token is gone.
const refreshHint = "the broker's token expired or was revoked: bootstrap it again as admin: " +
	"vault-policy issue broker --wrap-ttl 10m --role-id-out /etc/vaultpipe/broker/role_id --secret-id-out /etc/vaultpipe/broker/secret_id, " +
	"then vault-broker login"

// Login keeps the token c obtained by its AppRole login (vaultclient.New
// with the broker's role_id and secret_id files): it must be periodic, and
// is written to tokenFile (0600, atomically). The caller must not Close c,
// which would revoke it.
func Login(ctx context.Context, c *vaultclient.Client, tokenFile string, now time.Time) (*Token, error) {
	t, err := lookupSelf(ctx, c, now)
	if err != nil {
		return nil, err
	}
	if t.Period <= 0 {
		return nil, fault.WithHint(fault.New(fault.BadInput, "logging in as the broker", "",
			errors.New("the token is not periodic: it would expire whatever the broker does")),
			"log in with the broker AppRole of policies/approles/broker.hcl (token_period), synced with vault-policy sync")
	}
	if err := os.MkdirAll(filepath.Dir(tokenFile), 0o700); err != nil {
		return nil, fault.New(fault.Unknown, "creating directory of", tokenFile, errors.Unwrap(err))
	}
	if err := safefile.Write(tokenFile, []byte(c.Token()+"\n"), 0o600); err != nil {
		return nil, fault.New(fault.Unknown, "writing token file", tokenFile, errors.Unwrap(err))
	}
	return t, nil
}

// Renew renews the broker's token for another period.
func Renew(ctx context.Context, c *vaultclient.Client, now time.Time) (*Token, error) {
	s, err := c.Auth().Token().RenewSelfWithContext(ctx, 0)
	if err != nil {
		return nil, tokenErr(c, err, "renewing the broker's token at", "auth/token/renew-self")
	}
	if s == nil || s.Auth == nil {
		return nil, fault.New(fault.Server, "renewing the broker's token at", "auth/token/renew-self", errors.New("empty response"))
	}
	t, err := lookupSelf(ctx, c, now)
	if err != nil {
		return nil, err
	}
	if t.Period <= 0 {
		return nil, fault.WithHint(fault.New(fault.BadInput, "renewing the broker's token", "",
			errors.New("the token is not periodic: it will expire however often it is renewed")), refreshHint)
	}
	return t, nil
}

// tokenErr classifies a failed call on the broker's own token: refused
// means the token is gone, and the hint says how to get another.
func tokenErr(c *vaultclient.Client, err error, op, path string) error {
	err = c.Classify(err, op, path)
	if fault.Is(err, fault.Denied) {
		return fault.WithHint(err, refreshHint)
	}
	return err
}

func lookupSelf(ctx context.Context, c *vaultclient.Client, now time.Time) (*Token, error) {
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, tokenErr(c, err, "looking up the broker's token at", "auth/token/lookup-self")
	}
	if s == nil || s.Data == nil {
		return nil, fault.New(fault.Server, "looking up the broker's token at", "auth/token/lookup-self", errors.New("empty response"))
	}
	t := &Token{}
	t.Accessor, _ = s.Data["accessor"].(string)
	t.Period = seconds(s.Data["period"])
	t.TTL = seconds(s.Data["ttl"])
	t.ExpireTime = now.Add(t.TTL).UTC().Truncate(time.Second)
	return t, nil
}

func seconds(v any) time.Duration {
	var n int64
	switch x := v.(type) {
	case json.Number:
		n, _ = x.Int64()
	case float64:
		n = int64(x)
	case int64:
		n = x
	case int:
		n = int64(x)
	}
	return time.Duration(n) * time.Second
}

// Issued describes a secret_id minted for a unit. The wrapping token went
// to SecretIDFile only.
type Issued struct {
	Role         string
	RoleIDFile   string
	SecretIDFile string
	WrapAccessor string
	WrapTTL      time.Duration
	SecretIDTTL  time.Duration
}

// IssueRun mints one wrapped, single-use secret_id of role and writes it,
// with the role_id, to dir/secret_id and dir/role_id (0600; dir 0700).
func IssueRun(ctx context.Context, c *vaultclient.Client, mount, role, dir string) (*Issued, error) {
	if err := CheckRole(role); err != nil {
		return nil, err
	}
	cr, err := policy.Issue(ctx, c, role, policy.IssueOptions{
		Mount: mount, WrapTTL: WrapTTL, TTL: RunSecretIDTTL, NumUses: 1,
		Metadata: map[string]string{"issued_by": IssuedBy},
	})
	if err != nil {
		return nil, deniedHint(err, role)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fault.New(fault.Unknown, "creating directory", dir, errors.Unwrap(err))
	}
	is := &Issued{Role: role, RoleIDFile: filepath.Join(dir, "role_id"), SecretIDFile: filepath.Join(dir, "secret_id"),
		WrapAccessor: cr.WrapAccessor, WrapTTL: time.Duration(cr.WrapTTL) * time.Second, SecretIDTTL: RunSecretIDTTL}
	if err := cr.WriteFiles(is.RoleIDFile, is.SecretIDFile); err != nil {
		return nil, err
	}
	return is, nil
}

func deniedHint(err error, role string) error {
	if fault.Is(err, fault.Denied) {
		return fault.WithHint(err, "the broker mints only for the roles policies/acl/broker.hcl names, with the TTL and uses pinned there; "+
			role+" is not one of them (or the broker's token is gone: vault-broker renew says)")
	}
	return err
}

// SecretIDState is what Vault says about a secret_id.
type SecretIDState struct {
	Accessor   string
	ExpireTime time.Time // zero: never expires
	UsesLeft   int       // 0: unlimited
}

// lookupSecretID asks Vault about a secret_id of role by its value (in the
// request body); nil when Vault does not know it (expired, used up,
// destroyed or never issued).
func lookupSecretID(ctx context.Context, c *vaultclient.Client, mount, role, value string) (*SecretIDState, error) {
	path := "auth/" + mount + "/role/" + role + "/secret-id/lookup"
	s, err := c.Write(ctx, path, map[string]any{"secret_id": value})
	if fault.Is(err, fault.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, deniedHint(err, role)
	}
	if s == nil || s.Data == nil {
		return nil, nil
	}
	st := &SecretIDState{}
	st.Accessor, _ = s.Data["secret_id_accessor"].(string)
	st.UsesLeft = int(seconds(s.Data["secret_id_num_uses"]) / time.Second)
	if exp, _ := s.Data["expiration_time"].(string); exp != "" && !strings.HasPrefix(exp, "0001-") {
		if t, err := time.Parse(time.RFC3339Nano, exp); err == nil {
			st.ExpireTime = t.UTC().Truncate(time.Second)
		}
	}
	return st, nil
}

// KeepOptions say where a kept secret_id lives and who reads it.
type KeepOptions struct {
	Mount        string
	SecretIDFile string
	RoleIDFile   string // optional
	// UID and GID own the files (the reader, e.g. the Dagster user); -1
	// keeps the broker's.
	UID, GID int
	// TTL is the life asked for (FileSecretIDTTL when 0): the value the
	// broker's policy pins for the role.
	TTL         time.Duration
	RenewBefore time.Duration
	Now         time.Time
}

// Kept describes a Keep: Action is "kept" (the file's secret_id has time
// and uses left), "issued" (there was none, or Vault no longer knew it) or
// "replaced" (renewed ahead of expiry; the old one destroyed).
type Kept struct {
	Role              string
	Action            string
	SecretIDFile      string
	RoleIDFile        string
	ExpireTime        time.Time
	UsesLeft          int // 0: unlimited
	Accessor          string
	DestroyedAccessor string
}

// Keep makes sure o.SecretIDFile holds a secret_id of role with more than
// o.RenewBefore of its life and MinUsesLeft logins left, re-issuing it
// (wrapped by Vault, unwrapped here) and destroying the one it replaces.
func Keep(ctx context.Context, c *vaultclient.Client, role string, o KeepOptions) (*Kept, error) {
	if err := CheckRole(role); err != nil {
		return nil, err
	}
	if o.RenewBefore <= 0 {
		o.RenewBefore = DefaultRenewBefore
	}
	if o.TTL <= 0 {
		o.TTL = FileSecretIDTTL
	}
	if o.RenewBefore >= o.TTL {
		return nil, fault.Usagef("--renew-before %s would re-issue every time: a kept secret_id lives %s", o.RenewBefore, o.TTL)
	}
	k := &Kept{Role: role, SecretIDFile: o.SecretIDFile, RoleIDFile: o.RoleIDFile}
	var old *SecretIDState
	if b, err := os.ReadFile(o.SecretIDFile); err == nil && strings.TrimSpace(string(b)) != "" {
		old, err = lookupSecretID(ctx, c, o.Mount, role, strings.TrimSpace(string(b)))
		if err != nil {
			return nil, err
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fault.New(fault.Unknown, "reading secret_id file", o.SecretIDFile, errors.Unwrap(err))
	}
	if old != nil && fresh(old, o) {
		k.Action, k.ExpireTime, k.UsesLeft, k.Accessor = "kept", old.ExpireTime, old.UsesLeft, old.Accessor
		return k, nil
	}
	cr, err := policy.Issue(ctx, c, role, policy.IssueOptions{
		Mount: o.Mount, WrapTTL: WrapTTL, TTL: o.TTL, NumUses: policy.UnlimitedUses,
		Metadata: map[string]string{"issued_by": IssuedBy},
	})
	if err != nil {
		return nil, deniedHint(err, role)
	}
	sid, err := c.ResolveSecretID(ctx, o.Mount, cr.WrapToken)
	if err != nil {
		return nil, err
	}
	if err := writeOwned(o.SecretIDFile, sid.Value, o.UID, o.GID); err != nil {
		policy.DestroySecretID(context.WithoutCancel(ctx), c, o.Mount, role, sid.Accessor)
		return nil, err
	}
	if o.RoleIDFile != "" {
		if err := writeOwned(o.RoleIDFile, cr.RoleID, o.UID, o.GID); err != nil {
			return nil, err
		}
	}
	k.Action, k.Accessor = "issued", sid.Accessor
	now, err := lookupSecretID(ctx, c, o.Mount, role, sid.Value)
	if err != nil {
		return nil, err
	}
	if now != nil {
		k.ExpireTime, k.UsesLeft = now.ExpireTime, now.UsesLeft
	}
	if old != nil {
		// Runs already logged in keep their tokens; the file has the new one.
		if err := policy.DestroySecretID(ctx, c, o.Mount, role, old.Accessor); err != nil {
			return nil, fault.WithHint(err, "the new secret_id is in place; destroy the old one by its accessor "+old.Accessor)
		}
		k.Action, k.DestroyedAccessor = "replaced", old.Accessor
	}
	return k, nil
}

func fresh(s *SecretIDState, o KeepOptions) bool {
	if !s.ExpireTime.IsZero() && s.ExpireTime.Sub(o.Now) <= o.RenewBefore {
		return false
	}
	return s.UsesLeft == 0 || s.UsesLeft >= MinUsesLeft
}

// writeOwned replaces path atomically with value, 0600, owned by uid:gid
// before a byte is written (the directory is created 0700 if missing).
func writeOwned(path, value string, uid, gid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fault.New(fault.Unknown, "creating directory of", path, errors.Unwrap(err))
	}
	err := safefile.WriteFunc(path, 0o600, func(w io.Writer) error {
		if f, ok := w.(*os.File); ok && (uid >= 0 || gid >= 0) {
			if err := f.Chown(uid, gid); err != nil {
				return fmt.Errorf("handing %s to %d:%d: %w", path, uid, gid, err)
			}
		}
		_, err := fmt.Fprintln(w, value)
		return err
	})
	if err != nil {
		return fault.New(fault.Unknown, "writing", path, errors.Unwrap(err))
	}
	return nil
}
