package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// IssueOptions adjust Issue.
type IssueOptions struct {
	// Mount is the AppRole auth mount (DefaultMount when empty).
	Mount string
	// WrapTTL, when positive, response-wraps the secret_id: Vault returns a
	// single-use wrapping token valid this long instead of the secret_id.
	WrapTTL time.Duration
	// CIDRs further restrict where this secret_id may be used from.
	CIDRs []string
	// TTL and NumUses, when set, ask for a secret_id shorter-lived or with
	// fewer logins than the role's default (NumUses 0 leaves it; use
	// UnlimitedUses for 0 itself). Both travel as strings ("10m", "1"),
	// which is what a policy's allowed_parameters compares against.
	TTL     time.Duration
	NumUses int
	// Metadata is stored with the secret_id (visible to operators, in the
	// audit log in clear): never put a secret in it.
	Metadata map[string]string
}

// UnlimitedUses asks for a secret_id without a use limit (num_uses 0).
const UnlimitedUses = -1

// Credentials are fresh AppRole credentials. SecretID (or, when wrapped,
// WrapToken) is a secret: write it to a 0600 file, never print it.
type Credentials struct {
	App              string
	RoleID           string
	SecretID         string // empty when wrapped
	SecretIDAccessor string // empty when wrapped
	SecretIDTTL      int    // seconds; 0 = no expiry
	WrapToken        string // set when wrapped
	WrapTTL          int    // seconds
	WrapAccessor     string
}

// Issue reads app's role_id and generates a new secret_id for it.
func Issue(ctx context.Context, c *vaultclient.Client, app string, opts IssueOptions) (*Credentials, error) {
	mount := strings.Trim(opts.Mount, "/")
	if mount == "" {
		mount = DefaultMount
	}
	base := "auth/" + mount + "/role/" + app
	rs, err := c.Read(ctx, base+"/role-id")
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil, fault.WithHint(err, "declare it in policies/approles/"+app+".hcl and run vault-policy sync")
		}
		return nil, err
	}
	roleID, _ := rs.Data["role_id"].(string)
	if roleID == "" {
		return nil, fault.New(fault.Server, "reading", base+"/role-id", errors.New("no role_id in the response"))
	}
	body := map[string]any{}
	if len(opts.CIDRs) > 0 {
		if err := checkCIDRs(ctx, c, base, opts.CIDRs); err != nil {
			return nil, err
		}
		body["cidr_list"] = strings.Join(opts.CIDRs, ",")
	}
	if opts.TTL > 0 {
		body["ttl"] = ShortDuration(opts.TTL)
	}
	switch {
	case opts.NumUses > 0:
		body["num_uses"] = fmt.Sprint(opts.NumUses)
	case opts.NumUses == UnlimitedUses:
		body["num_uses"] = "0"
	}
	if len(opts.Metadata) > 0 {
		meta, _ := json.Marshal(opts.Metadata)
		body["metadata"] = string(meta)
	}
	wc := c
	if opts.WrapTTL > 0 {
		cl, err := c.Client.CloneWithHeaders()
		if err != nil {
			return nil, fault.New(fault.Usage, "building Vault client", "", err)
		}
		cl.SetToken(c.Token())
		ttl := opts.WrapTTL.String()
		cl.SetWrappingLookupFunc(func(string, string) string { return ttl })
		wc = &vaultclient.Client{Client: cl}
	}
	s, err := wc.Write(ctx, base+"/secret-id", body)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fault.New(fault.Server, "writing", base+"/secret-id", errors.New("empty response"))
	}
	cr := &Credentials{App: app, RoleID: roleID}
	if opts.WrapTTL > 0 {
		if s.WrapInfo == nil || s.WrapInfo.Token == "" {
			return nil, fault.New(fault.Server, "writing", base+"/secret-id", errors.New("the response was not wrapped"))
		}
		cr.WrapToken = s.WrapInfo.Token
		cr.WrapTTL = s.WrapInfo.TTL
		cr.WrapAccessor = s.WrapInfo.Accessor
		return cr, nil
	}
	cr.SecretID, _ = s.Data["secret_id"].(string)
	cr.SecretIDAccessor, _ = s.Data["secret_id_accessor"].(string)
	if n, ok := s.Data["secret_id_ttl"]; ok {
		fmt.Sscan(fmt.Sprint(n), &cr.SecretIDTTL)
	}
	if cr.SecretID == "" {
		return nil, fault.New(fault.Server, "writing", base+"/secret-id", errors.New("no secret_id in the response"))
	}
	return cr, nil
}

// ShortDuration writes d the way policies pin it: "72h", "10m" or "90s".
func ShortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// WriteFiles writes the role_id to roleIDFile (when not empty) and the
// secret_id — or the wrapping token, when wrapped — to secretIDFile, each
// atomically with mode 0600.
func (cr *Credentials) WriteFiles(roleIDFile, secretIDFile string) error {
	for _, f := range []string{roleIDFile, secretIDFile} {
		if f == "" {
			continue
		}
		// A missing credentials directory is created private.
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return fault.New(fault.Unknown, "creating directory of", f, errors.Unwrap(err))
		}
	}
	if roleIDFile != "" {
		if err := safefile.Write(roleIDFile, []byte(cr.RoleID+"\n"), 0o600); err != nil {
			return fault.New(fault.Unknown, "writing role_id file", roleIDFile, errors.Unwrap(err))
		}
	}
	secret := cr.SecretID
	if cr.WrapToken != "" {
		secret = cr.WrapToken
	}
	if err := safefile.Write(secretIDFile, []byte(secret+"\n"), 0o600); err != nil {
		return fault.New(fault.Unknown, "writing secret_id file", secretIDFile, errors.Unwrap(err))
	}
	return nil
}

// DestroySecretID destroys a secret_id by its accessor, so credentials
// issued for a one-off use stop working at once.
func DestroySecretID(ctx context.Context, c *vaultclient.Client, mount, app, accessor string) error {
	mount = strings.Trim(mount, "/")
	if mount == "" {
		mount = DefaultMount
	}
	_, err := c.Write(ctx, "auth/"+mount+"/role/"+app+"/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor})
	return err
}

// checkCIDRs makes sure every requested block lies inside the role's
// secret_id_bound_cidrs, which Vault would otherwise refuse with a 500.
func checkCIDRs(ctx context.Context, c *vaultclient.Client, base string, cidrs []string) error {
	role, err := c.Read(ctx, base)
	if err != nil {
		return err
	}
	var bound []netip.Prefix
	raw, _ := role.Data["secret_id_bound_cidrs"].([]any)
	for _, b := range raw {
		if p, err := netip.ParsePrefix(hostPrefix(fmt.Sprint(b))); err == nil {
			bound = append(bound, p)
		}
	}
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(hostPrefix(s))
		if err != nil {
			return fault.Usagef("--cidr %q is not a CIDR block such as 127.0.0.1/32", s)
		}
		if len(bound) == 0 {
			continue
		}
		inside := false
		for _, b := range bound {
			if b.Bits() <= p.Bits() && b.Contains(p.Addr()) {
				inside = true
			}
		}
		if !inside {
			return fault.Usagef("--cidr %s is outside the role's secret_id_bound_cidrs %v: a secret_id can only narrow them", s, raw)
		}
	}
	return nil
}
