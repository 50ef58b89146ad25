// The vault-broker command keeps vaultpipe's unattended identities — the
// timer units' AppRoles and the Dagster code locations' — credentialed
// ahead of expiry, with no human in the loop. It runs as root on the Vault
// host with a periodic token of its own (the broker AppRole,
// policies/approles/broker.hcl), which may mint secret_ids only for the
// roles policies/acl/broker.hcl names.
//
// Usage:
//
//	vault-broker login [--role-id-file FILE] [--secret-id-file FILE] [--token-file FILE] [vault flags]
//	vault-broker renew [--token-file FILE] [--metrics-dir DIR] [vault flags]
//	vault-broker issue ROLE [--dir DIR] [--token-file FILE] [--metrics-dir DIR] [vault flags]
//	vault-broker keep ROLE --secret-id-out FILE [--role-id-out FILE] [--owner USER[:GROUP]] [--ttl 72h] [--renew-before 60h] [...]
//
// login, once at bootstrap (scripts/vault-broker-bootstrap), logs in with
// the broker's role_id and a single-use secret_id (plain or wrapped, as
// vault-policy issue broker --wrap-ttl 10m writes it; default
// /etc/vaultpipe/broker/role_id and secret_id), checks that the token is periodic, and keeps
// it in --token-file (default /etc/vaultpipe/broker/token, 0600). It
// prints {"identity", "token_file", "token_accessor", "period_seconds",
// "expire_time"}.
//
// renew renews that token for another period (vault-broker-renew.timer,
// hourly) and prints {"identity", "token_accessor", "period_seconds",
// "ttl_seconds", "expire_time"}.
//
// issue renews the token, then mints one secret_id of ROLE that logs in
// once and lives 10 minutes, response-wrapped for 5 minutes, and writes the
// wrapping token to DIR/secret_id and the role_id to DIR/role_id (0600; DIR
// defaults to /run/vaultpipe/broker/ROLE). vault-broker@ROLE.service runs
// it right before the unit that loads those files with LoadCredential=.
// It prints {"role", "role_id_file", "secret_id_file", "wrapped",
// "wrap_ttl", "wrap_accessor", "secret_id_ttl", "num_uses"}.
//
// keep renews the token, then makes sure --secret-id-out holds a secret_id
// of ROLE with more than --renew-before (60h) of its --ttl (72h) and 3
// logins left:
// otherwise it writes a new one (owned by --owner, 0600) and destroys the
// one it replaces. It prints {"role", "action": "kept|issued|replaced",
// "secret_id_file", "role_id_file", "expire_time", "uses_left",
// "secret_id_accessor", "destroyed_accessor"}.
//
// With --metrics-dir (or VAULTPIPE_BROKER_METRICS_DIR) each command writes
// node_exporter textfile metrics, one file per identity:
// vaultpipe_broker_success{identity,action},
// vaultpipe_broker_last_attempt_timestamp_seconds,
// vaultpipe_broker_last_success_timestamp_seconds,
// vaultpipe_broker_credential_expiry_timestamp_seconds{identity,kind} and
// vaultpipe_broker_credential_uses_left (docs/prometheus/vaultpipe-alerts.yml).
//
// No secret_id or token is ever printed, logged or put in argv.
//
// Exit status:
//
//	0  success
//	1  failure (Vault unreachable, a file that cannot be written…)
//	2  usage error
//	4  Vault is sealed
//	5  Vault is not initialised
//	6  permission denied: a role the broker may not mint for, the broker's
//	   token expired or revoked, a login secret_id already used
//
// Example:
//
//	vault-broker issue rotator --metrics-dir /var/lib/prometheus/node-exporter | jq -r .wrap_accessor
//	vault-broker keep dagster-analytics --secret-id-out /etc/vaultpipe-dagster-analytics/secret_id --owner dagster
package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/broker"
	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-broker"

type cli struct {
	Login loginCmd `cmd:"" help:"Log in once as the broker AppRole and keep its periodic token. Example: vault-broker login --role-id-file /etc/vaultpipe/broker/role_id --secret-id-file /etc/vaultpipe/broker/secret_id"`
	Renew renewCmd `cmd:"" help:"Renew the broker's token for another period. Example: vault-broker renew --metrics-dir /var/lib/prometheus/node-exporter"`
	Issue issueCmd `cmd:"" help:"Mint a wrapped, single-use secret_id of ROLE for the unit about to start. Example: vault-broker issue rotator"`
	Keep  keepCmd  `cmd:"" help:"Keep a secret_id file of ROLE fresh, replacing it ahead of expiry. Example: vault-broker keep dagster-analytics --secret-id-out /etc/vaultpipe-dagster-analytics/secret_id --owner dagster"`
}

type brokerFlags struct {
	TokenFile    string `name:"token-file" env:"VAULTPIPE_TOKEN_FILE" default:"/etc/vaultpipe/broker/token" help:"The broker's periodic token (root, 0600)."`
	MetricsDir   string `name:"metrics-dir" env:"VAULTPIPE_METRICS_DIR" help:"node_exporter textfile directory for the broker's metrics (none when empty)."`
	AppRoleMount string `name:"approle-mount" env:"VAULTPIPE_APPROLE_MOUNT" default:"approle" help:"Mount path of the AppRole auth method."`

	Conn vaultclient.Conn `embed:""`
}

type loginCmd struct {
	TokenFile    string `name:"token-file" env:"VAULTPIPE_TOKEN_FILE" default:"/etc/vaultpipe/broker/token" help:"Where to keep the broker's periodic token (0600)."`
	RoleIDFile   string `name:"role-id-file" env:"VAULTPIPE_ROLE_ID_FILE" default:"/etc/vaultpipe/broker/role_id" help:"The broker AppRole's role_id."`
	SecretIDFile string `name:"secret-id-file" env:"VAULTPIPE_SECRET_ID_FILE" default:"/etc/vaultpipe/broker/secret_id" help:"A single-use secret_id of the broker AppRole, or a wrapping token for it."`
	AppRoleMount string `name:"approle-mount" env:"VAULTPIPE_APPROLE_MOUNT" default:"approle" help:"Mount path of the AppRole auth method."`

	Conn vaultclient.Conn `embed:""`
}

type renewCmd struct {
	brokerFlags `embed:""`
}

type issueCmd struct {
	Role string `arg:"" help:"AppRole to mint for (one policies/acl/broker.hcl names)."`
	Dir  string `name:"dir" help:"Where to write role_id and secret_id (default /run/vaultpipe/broker/ROLE)."`

	brokerFlags `embed:""`
}

type keepCmd struct {
	Role         string        `arg:"" help:"AppRole whose secret_id file to keep."`
	SecretIDFile string        `name:"secret-id-out" required:"" env:"VAULTPIPE_BROKER_SECRET_ID_OUT" help:"The secret_id file its users log in with."`
	RoleIDFile   string        `name:"role-id-out" env:"VAULTPIPE_BROKER_ROLE_ID_OUT" help:"Also write the role_id here."`
	Owner        string        `name:"owner" env:"VAULTPIPE_BROKER_OWNER" help:"USER[:GROUP] who owns the files (default: the broker's)."`
	TTL          time.Duration `name:"ttl" env:"VAULTPIPE_BROKER_TTL" default:"72h" help:"Life of a new secret_id: the value policies/acl/broker.hcl pins for ROLE."`
	RenewBefore  time.Duration `name:"renew-before" env:"VAULTPIPE_BROKER_RENEW_BEFORE" default:"60h" help:"Replace the secret_id once less than this of its life is left."`

	brokerFlags `embed:""`
}

func main() {
	command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}})
}

const description = `Keep the unattended identities credentialed ahead of expiry: a periodic token of the broker's own mints wrapped, single-use secret_ids for timer units and keeps code locations' secret_id files fresh.

Exit status:
  0  success
  1  failure (Vault unreachable, a file that cannot be written…)
  2  usage error
  4  Vault is sealed
  5  Vault is not initialised
  6  permission denied: a role the broker may not mint for, the broker's
     token expired or revoked, a login secret_id already used

Example:
  vault-broker issue rotator --metrics-dir /var/lib/prometheus/node-exporter | jq -r .wrap_accessor`

func (c *loginCmd) Run(env *command.Env) error { return runLogin(env.Context(), env.Stdout, c) }

func (c *renewCmd) Run(env *command.Env) error {
	_, err := renew(env.Context(), env.Stdout, env.Stderr, &c.brokerFlags, true)
	return err
}

func (c *issueCmd) Run(env *command.Env) error {
	return runIssue(env.Context(), env.Stdout, env.Stderr, c)
}

func (c *keepCmd) Run(env *command.Env) error {
	return runKeep(env.Context(), env.Stdout, env.Stderr, c)
}

type tokenOutput struct {
	Identity      string `json:"identity"`
	TokenFile     string `json:"token_file,omitempty"`
	TokenAccessor string `json:"token_accessor"`
	PeriodSeconds int    `json:"period_seconds"`
	TTLSeconds    int    `json:"ttl_seconds"`
	ExpireTime    string `json:"expire_time"`
}

func tokenJSON(t *broker.Token, file string) tokenOutput {
	return tokenOutput{Identity: broker.Self, TokenFile: file, TokenAccessor: t.Accessor,
		PeriodSeconds: int(t.Period / time.Second), TTLSeconds: int(t.TTL / time.Second), ExpireTime: t.ExpireTime.Format(time.RFC3339)}
}

func runLogin(ctx context.Context, stdout io.Writer, c *loginCmd) error {
	vc, err := vaultclient.New(ctx, vaultclient.Flags{Conn: c.Conn, Auth: vaultclient.Auth{
		RoleIDFile: c.RoleIDFile, SecretIDFile: c.SecretIDFile, AppRoleMount: c.AppRoleMount}})
	if err != nil {
		return err
	}
	// Never Close: that would revoke the token kept here.
	t, err := broker.Login(ctx, vc, c.TokenFile, time.Now())
	if err != nil {
		vc.Close(context.WithoutCancel(ctx))
		return err
	}
	return jsonout.Write(stdout, tokenJSON(t, c.TokenFile))
}

// renew renews the broker's token and records it; print says whether the
// token's state is the command's answer.
func renew(ctx context.Context, stdout, stderr io.Writer, f *brokerFlags, print bool) (*vaultclient.Client, error) {
	now := time.Now()
	record := func(t *broker.Token, err error) error {
		o := broker.Outcome{Identity: broker.Self, Action: "renew", At: now, OK: err == nil, Kind: "token"}
		if t != nil {
			o.Expiry = t.ExpireTime
		}
		writeMetrics(stderr, f.MetricsDir, o)
		return err
	}
	vc, err := vaultclient.New(ctx, vaultclient.Flags{Conn: f.Conn, Auth: vaultclient.Auth{TokenFile: f.TokenFile}})
	if err != nil {
		if fault.Is(err, fault.Usage) && strings.Contains(err.Error(), f.TokenFile) {
			err = fault.WithHint(err, "bootstrap the broker first: vault-broker login (policies/README.md, \"The broker\")")
		}
		return nil, record(nil, err)
	}
	t, err := broker.Renew(ctx, vc, now)
	if err = record(t, err); err != nil {
		return nil, err
	}
	if print {
		return vc, jsonout.Write(stdout, tokenJSON(t, ""))
	}
	return vc, nil
}

type issueOutput struct {
	Role         string `json:"role"`
	RoleIDFile   string `json:"role_id_file"`
	SecretIDFile string `json:"secret_id_file"`
	Wrapped      bool   `json:"wrapped"`
	WrapTTL      int    `json:"wrap_ttl"`
	WrapAccessor string `json:"wrap_accessor"`
	SecretIDTTL  int    `json:"secret_id_ttl"`
	NumUses      int    `json:"num_uses"`
}

func runIssue(ctx context.Context, stdout, stderr io.Writer, c *issueCmd) error {
	if err := broker.CheckRole(c.Role); err != nil {
		return err
	}
	dir := c.Dir
	if dir == "" {
		dir = filepath.Join("/run/vaultpipe/broker", c.Role)
	}
	now := time.Now()
	is, err := func() (*broker.Issued, error) {
		vc, err := renew(ctx, stdout, stderr, &c.brokerFlags, false)
		if err != nil {
			return nil, err
		}
		return broker.IssueRun(ctx, vc, c.AppRoleMount, c.Role, dir)
	}()
	writeMetrics(stderr, c.MetricsDir, broker.Outcome{Identity: c.Role, Action: "issue", At: now, OK: err == nil})
	if err != nil {
		return err
	}
	return jsonout.Write(stdout, issueOutput{Role: is.Role, RoleIDFile: is.RoleIDFile, SecretIDFile: is.SecretIDFile,
		Wrapped: true, WrapTTL: int(is.WrapTTL / time.Second), WrapAccessor: is.WrapAccessor,
		SecretIDTTL: int(is.SecretIDTTL / time.Second), NumUses: 1})
}

// writeMetrics records o when a metrics directory is given. Failing to is a
// warning: the credentials matter more, and a metrics file that stops
// changing raises VaultBrokerStale.
func writeMetrics(stderr io.Writer, dir string, o broker.Outcome) {
	if dir == "" {
		return
	}
	if err := broker.WriteMetrics(dir, o); err != nil {
		fmt.Fprintf(stderr, "%s: warning: writing metrics: %v\n", name, err)
	}
}

type keepOutput struct {
	Role              string `json:"role"`
	Action            string `json:"action"`
	SecretIDFile      string `json:"secret_id_file"`
	RoleIDFile        string `json:"role_id_file,omitempty"`
	ExpireTime        string `json:"expire_time,omitempty"`
	UsesLeft          *int   `json:"uses_left"`
	Accessor          string `json:"secret_id_accessor"`
	DestroyedAccessor string `json:"destroyed_accessor,omitempty"`
}

func runKeep(ctx context.Context, stdout, stderr io.Writer, c *keepCmd) error {
	if err := broker.CheckRole(c.Role); err != nil {
		return err
	}
	uid, gid, err := owner(c.Owner)
	if err != nil {
		return err
	}
	now := time.Now()
	k, err := func() (*broker.Kept, error) {
		vc, err := renew(ctx, stdout, stderr, &c.brokerFlags, false)
		if err != nil {
			return nil, err
		}
		return broker.Keep(ctx, vc, c.Role, broker.KeepOptions{Mount: c.AppRoleMount, SecretIDFile: c.SecretIDFile,
			RoleIDFile: c.RoleIDFile, UID: uid, GID: gid, TTL: c.TTL, RenewBefore: c.RenewBefore, Now: now})
	}()
	o := broker.Outcome{Identity: c.Role, Action: "keep", At: now, OK: err == nil, Kind: "secret_id"}
	if k != nil {
		o.Expiry, o.UsesLeft = k.ExpireTime, k.UsesLeft
	}
	writeMetrics(stderr, c.MetricsDir, o)
	if err != nil {
		return err
	}
	out := keepOutput{Role: k.Role, Action: k.Action, SecretIDFile: k.SecretIDFile, RoleIDFile: k.RoleIDFile,
		Accessor: k.Accessor, DestroyedAccessor: k.DestroyedAccessor}
	if !k.ExpireTime.IsZero() {
		out.ExpireTime = k.ExpireTime.Format(time.RFC3339)
	}
	if k.UsesLeft > 0 {
		out.UsesLeft = &k.UsesLeft
	}
	return jsonout.Write(stdout, out)
}

// owner resolves USER[:GROUP] (names or numbers); "" keeps the broker's.
func owner(s string) (uid, gid int, err error) {
	if s == "" {
		return -1, -1, nil
	}
	un, gn, hasGroup := strings.Cut(s, ":")
	u, err := user.Lookup(un)
	if err != nil {
		if u, err = user.LookupId(un); err != nil {
			return 0, 0, fault.Usagef("--owner %s: no such user", un)
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if hasGroup {
		g, err := user.LookupGroup(gn)
		if err != nil {
			if g, err = user.LookupGroupId(gn); err != nil {
				return 0, 0, fault.Usagef("--owner %s: no such group", s)
			}
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}
