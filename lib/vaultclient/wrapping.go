package vaultclient

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// SecretID is an AppRole secret_id as a secret_id file gave it: the value
// itself, or — when the file held a response-wrapping token — the value
// unwrapped from it (Wrapped, with the secret_id's accessor).
type SecretID struct {
	Value    string
	Accessor string
	Wrapped  bool
}

// wrapHint is what to do about a wrapping token that no longer unwraps.
const wrapHint = "a wrapping token works once: issue a new one (vault-policy issue APP --wrap-ttl 10m --secret-id-out FILE); " +
	"if nobody here used it, someone else may have: look its accessor up in the audit log"

// ResolveSecretID turns the content of a secret_id file into a secret_id.
// A plain secret_id is returned as it is. A Vault token (hvs., s., hvb.)
// is taken for a response-wrapping token, as `vault-policy issue
// --wrap-ttl` writes: it is looked up first (sys/wrapping/lookup, which
// does not use it up) and unwrapped only when it wraps an AppRole
// secret_id of mount (creation path auth/<mount>/role/<name>/secret-id),
// so a planted token wrapping anything else is refused. Unwrapping uses
// the token up: the same file never logs in twice, and a token already
// used or expired is a Denied error naming neither value.
func (c *Client) ResolveSecretID(ctx context.Context, mount, value string) (SecretID, error) {
	value = strings.TrimSpace(value)
	if !looksLikeToken(value) {
		return SecretID{Value: value}, nil
	}
	if mount == "" {
		mount = "approle"
	}
	mount = strings.Trim(mount, "/")
	cl, err := c.Client.CloneWithHeaders()
	if err != nil {
		return SecretID{}, fault.New(fault.Usage, "building Vault client", "", err)
	}
	// A retried unwrap whose first attempt went through would report a
	// used token: one attempt only.
	cl.SetMaxRetries(0)
	cl.ClearToken()
	uc := &Client{Client: cl}
	look, err := cl.Logical().WriteWithContext(ctx, "sys/wrapping/lookup", map[string]any{"token": value})
	if err != nil {
		err = uc.Classify(err, "looking up the wrapping token", "sys/wrapping/lookup")
		if fault.Is(err, fault.BadRequest) || fault.Is(err, fault.Denied) || fault.Is(err, fault.NotFound) {
			return SecretID{}, fault.WithHint(fault.New(fault.Denied, "unwrapping the secret_id", "",
				errors.New("the wrapping token was already used or has expired")), wrapHint)
		}
		return SecretID{}, err
	}
	created := ""
	if look != nil && look.Data != nil {
		created, _ = look.Data["creation_path"].(string)
	}
	if !secretIDPath(mount).MatchString(created) {
		return SecretID{}, fault.New(fault.BadInput, "unwrapping the secret_id", "",
			errors.New("the wrapping token wraps the answer of "+quoteOrNone(created)+", not an AppRole secret_id of auth/"+mount+"/: refusing to unwrap it"))
	}
	cl.SetToken(value)
	s, err := cl.Logical().UnwrapWithContext(ctx, "")
	cl.ClearToken()
	if err != nil {
		err = uc.Classify(err, "unwrapping the secret_id", "sys/wrapping/unwrap")
		if fault.Is(err, fault.BadRequest) || fault.Is(err, fault.Denied) {
			// It was valid a moment ago: someone unwrapped it in between.
			return SecretID{}, fault.WithHint(fault.New(fault.Denied, "unwrapping the secret_id", "",
				errors.New("the wrapping token was used by someone else between lookup and unwrap")), wrapHint)
		}
		return SecretID{}, err
	}
	if s == nil || s.Data == nil {
		return SecretID{}, fault.New(fault.Server, "unwrapping the secret_id", "", errors.New("empty response"))
	}
	sid, _ := s.Data["secret_id"].(string)
	if sid == "" {
		return SecretID{}, fault.New(fault.Server, "unwrapping the secret_id", "", errors.New("no secret_id in the wrapped response"))
	}
	acc, _ := s.Data["secret_id_accessor"].(string)
	return SecretID{Value: sid, Accessor: acc, Wrapped: true}, nil
}

// looksLikeToken tells a Vault token from a secret_id: Vault makes
// secret_ids as UUIDs, and tokens carry a type prefix.
func looksLikeToken(s string) bool {
	for _, p := range []string{"hvs.", "hvb.", "s.", "b."} {
		if strings.HasPrefix(s, p) && len(s) > len(p)+8 {
			return true
		}
	}
	return false
}

func secretIDPath(mount string) *regexp.Regexp {
	return regexp.MustCompile(`^auth/` + regexp.QuoteMeta(mount) + `/role/[^/]+/secret-id$`)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "an unknown path"
	}
	return `"` + s + `"`
}
