// Package vaultclient is the one way a vaultpipe binary builds a Vault client.
//
// Flags and environment variables carry the names Vault's own CLI uses
// (VAULT_ADDR, VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY,
// VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY, VAULT_NAMESPACE,
// VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES, VAULT_TOKEN). A token is taken from
// an AppRole login whose role_id and secret_id are read from files, from
// --token-file, or from VAULT_TOKEN, in that order (an explicit file wins,
// with a warning when VAULT_TOKEN is set too); never from argv. A secret_id file may hold
// a response-wrapping token instead (vault-policy issue --wrap-ttl): it is
// unwrapped at login, once (ResolveSecretID).
//
// Every error a Client returns is a *fault.Error classified by (*Client).Classify
// (use it for raw api calls too: it tells uninitialised from sealed), so
// binaries map it to exit codes and hints in one place (lib/fault).
package vaultclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/duration"
	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// Flags are the connection and authentication flags shared by every binary
// that talks to Vault. Embed it in a kong grammar with `embed:""`.
type Flags struct {
	Conn `embed:""`
	Auth `embed:""`
}

// Conn are the connection flags alone, for binaries that need no token
// (health checks, init, unseal).
type Conn struct {
	Address       string   `name:"address" env:"VAULT_ADDR" default:"https://127.0.0.1:8200" help:"Address of the Vault server." group:"Vault connection"`
	CACert        string   `name:"ca-cert" env:"VAULT_CACERT" type:"path" help:"PEM CA certificate file used to verify the server." group:"Vault connection"`
	CAPath        string   `name:"ca-path" env:"VAULT_CAPATH" type:"path" help:"Directory of PEM CA certificates used to verify the server." group:"Vault connection"`
	ClientCert    string   `name:"client-cert" env:"VAULT_CLIENT_CERT" type:"path" help:"PEM client certificate for TLS authentication." group:"Vault connection"`
	ClientKey     string   `name:"client-key" env:"VAULT_CLIENT_KEY" type:"path" help:"PEM private key of --client-cert." group:"Vault connection"`
	TLSServerName string   `name:"tls-server-name" env:"VAULT_TLS_SERVER_NAME" help:"Name to use as the SNI host." group:"Vault connection"`
	SkipVerify    bool     `name:"tls-skip-verify" env:"VAULT_SKIP_VERIFY" help:"Do not verify the server certificate (insecure; for debugging only)." group:"Vault connection"`
	Namespace     string   `name:"namespace" env:"VAULT_NAMESPACE" help:"Vault Enterprise namespace." group:"Vault connection"`
	Timeout       Duration `name:"client-timeout" env:"VAULT_CLIENT_TIMEOUT" default:"60s" help:"Timeout of each request (seconds or a duration such as 30s)." group:"Vault connection"`
	MaxRetries    int      `name:"max-retries" env:"VAULT_MAX_RETRIES" default:"2" help:"Retries after connection errors and 5xx responses." group:"Vault connection"`
}

// Auth are the authentication flags. The token itself is never a flag.
type Auth struct {
	TokenFile    string `name:"token-file" env:"VAULTPIPE_TOKEN_FILE" type:"path" help:"File holding the Vault token (used before VAULT_TOKEN; else ~/.vault-token)." group:"Vault authentication"`
	RoleIDFile   string `name:"role-id-file" env:"VAULTPIPE_ROLE_ID_FILE" type:"path" help:"File holding an AppRole role_id; log in with AppRole." group:"Vault authentication"`
	SecretIDFile string `name:"secret-id-file" env:"VAULTPIPE_SECRET_ID_FILE" type:"path" help:"File holding the AppRole secret_id, or a response-wrapping token for it (unwrapped at login; it works once)." group:"Vault authentication"`
	AppRoleMount string `name:"approle-mount" env:"VAULTPIPE_APPROLE_MOUNT" default:"approle" help:"Mount path of the AppRole auth method." group:"Vault authentication"`
}

// Duration is a duration.Duration that also accepts a plain number of
// seconds, as VAULT_CLIENT_TIMEOUT does in Vault's CLI.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler (kong reads flags with
// it) with ParseDuration.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses "30" (seconds) or anything duration.Parse reads
// ("30s", "1m30s", "1d").
func ParseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return duration.Parse(s)
}

// Client is an authenticated Vault client. The embedded *api.Client is there
// for requests this package has no wrapper for; pass their errors through
// Classify.
type Client struct {
	*api.Client
	// ownToken is true when the token came from a login made here; Close
	// then revokes it.
	ownToken bool
}

// Options adjust New.
type Options struct {
	// NoAuth builds a client without a token (health checks, init, unseal).
	NoAuth bool
	// Getenv replaces os.Getenv for VAULT_TOKEN and HOME (tests).
	Getenv func(string) string
	// Warnf reports a warning (default: "<program>: warning: …" on stderr).
	Warnf func(format string, args ...any)
	// Concurrency keeps this many connections open for requests in flight
	// at once (default: the api package's pool).
	Concurrency int
}

// New builds a client from f and authenticates it: AppRole when
// --role-id-file is set, else --token-file, else VAULT_TOKEN, else
// ~/.vault-token. TLS verification stays on unless --tls-skip-verify.
func New(ctx context.Context, f Flags, opts ...Options) (*Client, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := api.DefaultConfig()
	cfg.Error = nil // we resolve the environment ourselves, through f
	cfg.Address = f.Address
	if f.Address == "" {
		return nil, fault.Usagef("no Vault address: set VAULT_ADDR or --address")
	}
	if !strings.Contains(f.Address, "://") {
		// url.Parse reads "127.0.0.1:8200" as a scheme and an opaque part.
		return nil, fault.Usagef("Vault address %q has no scheme: use https://%s", f.Address, f.Address)
	}
	// Plain http is allowed only to loopback, --tls-skip-verify or not:
	// secrets never cross a network in clear.
	if u, err := url.Parse(f.Address); err == nil && strings.EqualFold(u.Scheme, "http") && !isLoopbackURL(f.Address) {
		return nil, fault.Usagef("refusing plain http to non-loopback address %s: use https", f.Address)
	}
	if err := cfg.ConfigureTLS(&api.TLSConfig{
		CACert:        f.CACert,
		CAPath:        f.CAPath,
		ClientCert:    f.ClientCert,
		ClientKey:     f.ClientKey,
		TLSServerName: f.TLSServerName,
		Insecure:      f.SkipVerify,
	}); err != nil {
		return nil, fault.New(fault.Usage, "configuring TLS", "", err)
	}
	cfg.Timeout = time.Duration(f.Timeout)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	cfg.MaxRetries = f.MaxRetries
	cfg.MinRetryWait = 250 * time.Millisecond
	cfg.MaxRetryWait = 2 * time.Second
	cfg.Backoff = retryablehttp.DefaultBackoff
	cfg.CheckRetry = checkRetry
	if tr, ok := cfg.HttpClient.Transport.(*http.Transport); ok && tr.MaxIdleConnsPerHost < o.Concurrency {
		tr.MaxIdleConnsPerHost = o.Concurrency
	}
	ac, err := api.NewClient(cfg)
	if err != nil {
		return nil, fault.New(fault.Usage, "building Vault client", "", err)
	}
	ac.ClearToken() // api.NewClient reads VAULT_TOKEN itself; we decide below
	if f.Namespace != "" {
		ac.SetNamespace(f.Namespace)
	}
	c := &Client{Client: ac}
	if o.NoAuth {
		return c, nil
	}
	warnf := o.Warnf
	if warnf == nil {
		warnf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "%s: warning: %s\n", filepath.Base(os.Args[0]), fmt.Sprintf(format, args...))
		}
	}
	if err := c.authenticate(ctx, f, getenv, warnf); err != nil {
		return nil, err
	}
	return c, nil
}

// authenticate picks the credential: the files given (flags or their
// VAULTPIPE_* variables) before VAULT_TOKEN, which is only the fallback
// every Vault tool reads, with a warning when both are present.
func (c *Client) authenticate(ctx context.Context, f Flags, getenv func(string) string, warnf func(string, ...any)) error {
	if getenv("VAULT_TOKEN") != "" {
		switch {
		case f.RoleIDFile != "" || f.SecretIDFile != "":
			warnf("VAULT_TOKEN is set and ignored: logging in with --role-id-file and --secret-id-file")
		case f.TokenFile != "":
			warnf("VAULT_TOKEN is set and ignored: using the token in --token-file %s", f.TokenFile)
		}
	}
	switch {
	case f.RoleIDFile != "" || f.SecretIDFile != "":
		if f.RoleIDFile == "" || f.SecretIDFile == "" {
			return fault.Usagef("AppRole login needs both --role-id-file and --secret-id-file")
		}
		roleID, err := readSecretFile(f.RoleIDFile, "role_id")
		if err != nil {
			return err
		}
		raw, err := readSecretFile(f.SecretIDFile, "secret_id")
		if err != nil {
			return err
		}
		sid, err := c.ResolveSecretID(ctx, f.AppRoleMount, raw)
		if err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) && fe.Path == "" {
				cp := *fe
				cp.Op, cp.Path = "reading secret_id file", f.SecretIDFile
				return &cp
			}
			return err
		}
		err = c.LoginAppRole(ctx, f.AppRoleMount, roleID, sid.Value)
		var fe *fault.Error
		if errors.As(err, &fe) && errors.Is(err, errRefusedLogin) {
			cp := *fe
			cp.Hint = fmt.Sprintf("issue this identity a new secret_id (as policy-sync or admin): vault-policy issue ROLE --role-id-out %s --secret-id-out %s", f.RoleIDFile, f.SecretIDFile)
			return &cp
		}
		return err
	case f.TokenFile != "":
		tok, err := readSecretFile(f.TokenFile, "token")
		if err != nil {
			return err
		}
		c.SetToken(tok)
	case getenv("VAULT_TOKEN") != "":
		c.SetToken(strings.TrimSpace(getenv("VAULT_TOKEN")))
	default:
		home := getenv("HOME")
		if home == "" {
			break
		}
		if tok, err := readSecretFile(filepath.Join(home, ".vault-token"), "token"); err == nil {
			c.SetToken(tok)
		}
	}
	if c.Token() == "" {
		return &fault.Error{Kind: fault.Usage, Err: errors.New("no Vault token"),
			Hint: "set VAULT_TOKEN, --token-file, or --role-id-file and --secret-id-file"}
	}
	return nil
}

// errRefusedLogin is an AppRole login Vault refused for its credentials.
var errRefusedLogin = errors.New("the AppRole login was refused: the secret_id has expired, is used up or is unknown (or the role_id is wrong)")

// LoginAppRole logs in with AppRole at mount and uses the resulting token.
// Close revokes it.
func (c *Client) LoginAppRole(ctx context.Context, mount, roleID, secretID string) error {
	if mount == "" {
		mount = "approle"
	}
	path := "auth/" + strings.Trim(mount, "/") + "/login"
	sec, err := c.Logical().WriteWithContext(ctx, path, map[string]any{"role_id": roleID, "secret_id": secretID})
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(strings.Join(re.Errors, " ")), "invalid role or secret id") {
		// Vault answers 400 for a secret_id that expired, ran out of uses or
		// never existed: a refused credential (exit 6), not bad input.
		return &fault.Error{Kind: fault.Denied, Op: "logging in at", Path: path, Err: errRefusedLogin}
	}
	if err != nil {
		return c.Classify(err, "logging in at", path)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return fault.New(fault.Denied, "logging in at", path, errors.New("no token in the response"))
	}
	c.SetToken(sec.Auth.ClientToken)
	c.ownToken = true
	return nil
}

// Close revokes the token if this client obtained it by logging in.
func (c *Client) Close(ctx context.Context) error {
	if !c.ownToken || c.Token() == "" {
		return nil
	}
	err := c.Auth().Token().RevokeSelfWithContext(ctx, "")
	c.ClearToken()
	c.ownToken = false
	return c.Classify(err, "revoking token", "")
}

// readSecretFile reads a small credential file and trims surrounding
// whitespace. Its content never appears in an error.
func readSecretFile(path, what string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fault.New(fault.Usage, "reading "+what+" file", path, errors.Unwrap(err))
	}
	if st.Size() > 64<<10 {
		return "", fault.New(fault.BadInput, "reading "+what+" file", path, errors.New("file is larger than 64 KiB"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fault.New(fault.Usage, "reading "+what+" file", path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fault.New(fault.BadInput, "reading "+what+" file", path, errors.New("file is empty"))
	}
	return s, nil
}
