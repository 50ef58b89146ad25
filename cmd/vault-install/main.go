// The vault-install command turns a fresh Linux host into a hardened,
// initialised, unsealed Vault node, and converges it again on later runs.
//
// Usage:
//
//	vault-install plan   [install flags]
//	vault-install apply  [install flags]
//	vault-install unseal [--migrate] [--share-file FILE]... [connection flags] < shares
//	vault-install transit-token [--root DIR] [--min-ttl DURATION]
//	vault-install fetch  --out FILE [--vault-version V] [--mirror URL] [--arch ARCH]
//
// plan prints, as one JSON document, what apply would change. apply gets a
// verified Vault binary, lays out /usr/local/bin/vault, /etc/vault.d
// (vault.hcl 0640), /opt/vault/data (0750), /opt/vault/tls (root:vault
// 0750, the server key 0640) and /var/log/vault under --root, makes a
// local CA (its private key goes to /etc/vaultpipe/ca-key.pem, root only,
// for the operator to move off the host; --tls-ca-cert/--tls-ca-key bring
// a CA for one run without copying its key), writes the systemd unit,
// starts the
// service (--service systemd), initialises Vault with every key share and
// the root token encrypted to a PGP key (--pgp-key, once per share holder,
// each key once; the root token to --root-token-pgp-key) into
// /etc/vault.d/vault-init.json (0600), and, once unsealed and given the
// decrypted root token (--token-file), mounts KV v2 at secret/, enables two
// audit devices and AppRole auth, applies --policies, and revokes the root
// token (unless --keep-root) — first writing a wrapped secret_id for the
// policy-sync AppRole, when --policies declares it, to
// /etc/vaultpipe/policy-sync/{role_id,secret_id} (root, 0600). A second
// apply on a converged host changes nothing and prints "changed": false.
//
// The binary comes from --binary PATH, from a HashiCorp release (--source
// release, the default: vault_<ver>_SHA256SUMS must carry a valid signature
// by HashiCorp's key C874 011F 0AB4 0511 0D02 1055 3436 5D94 72D7 468F, and
// the zip must match it, before anything is unpacked or written), or from
// the Go module proxy (--source go, through scripts/vault-binary).
//
// unseal reads key shares (hex or base64, one per line) from stdin or
// --share-file and submits them until the server is unsealed. Shares are
// never accepted as arguments and never printed.
//
// --seal transit renders a seal "transit" stanza (--transit-address,
// --transit-key, --transit-mount, --transit-ca-cert; the token from
// --transit-token-file goes into vault.hcl, root:vault 0640) so that Vault
// unseals itself at every start; initialisation then makes recovery shares
// (encrypted like unseal shares, "seal": "transit" in the init file). On
// an initialised Shamir node it is a migration: apply rewrites the config
// and says "next": "migrate"; restart Vault and run unseal --migrate with
// the unseal shares, which become the recovery shares. --seal shamir with
// the --transit-* flags is the way back (the stanza is rendered disabled;
// unseal --migrate takes the recovery shares). See
// docs/runbooks/transit-unseal.md.
//
// fetch downloads the release binary only, verified exactly as apply
// verifies it, to --out (0755, written atomically: on a failed check
// nothing is written); scripts/vault-binary uses it before it builds.
//
// transit-token (as root, from a timer) looks up the token in vault.hcl's
// transit seal on the transit Vault and exits 3 when its TTL is under
// --min-ttl (default: half its period): the seal renews a periodic token
// itself, so a falling TTL means renewals stopped.
//
// Output (stdout): plan and apply print {"root", "node_id", "api_addr",
// "changes": [{"step", "action", "path", "detail"}], "changed", "vault":
// {"reachable", "initialized", "sealed", "standby"}, "ca_cert", "init_file",
// "next"}; unseal prints {"sealed", "progress", "threshold", "submitted"};
// transit-token prints {"transit_address", "key", "ttl_seconds",
// "period_seconds", "renewable", "expire_time", "last_renewal", "expiring",
// "min_ttl_seconds"} (never the token); fetch prints {"file", "version",
// "url", "signer"}.
//
// Exit status:
//
//	0  done (apply: converged; unseal: unsealed)
//	1  failure, including a failed download check (nothing installed), and
//	   vault not running: start it from the written config ("next": "start"),
//	   then apply again
//	2  usage error, including split knowledge given up without saying so:
//	   the same PGP key for two shares (--allow-shared-holder), threshold 1
//	   with several shares (--allow-threshold-1), no --root-token-pgp-key
//	3  the bootstrap needs the root token (--token-file; "next": "bootstrap"),
//	   or a seal migration needs a restart ("next": "migrate"), or the
//	   transit seal's token expires soon (transit-token)
//	4  vault is sealed: unseal it (after init, a restart, or to join a
//	   cluster; "next": "unseal"; "migrate": unseal --migrate)
//	6  permission denied: the token given for the bootstrap is not valid
//	   (transit-token: the transit seal's token is revoked or expired)
//
// Example:
//
//	vault-install apply --pgp-key alice.asc --pgp-key bob.asc --pgp-key carol.asc \
//	    --root-token-pgp-key alice.asc --key-shares 3 --key-threshold 2 --policies policies
//	jq -r '.unseal_shares[0].encrypted_share_b64' /etc/vault.d/vault-init.json | base64 -d | gpg -dq | vault-install unseal
//	jq -r .root_token.encrypted_b64 /etc/vault.d/vault-init.json | base64 -d | gpg -dq > /run/root-token
//	vault-install apply --token-file /run/root-token --policies policies && shred -u /run/root-token
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/install"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-install"

const description = `Install, initialise and bootstrap a hardened Vault node; plan prints what apply would change.

Exit status:
  0  done (apply: converged; unseal: unsealed)
  1  failure, including a failed download check (nothing installed), and
     vault not running: start it from the written config ("next": "start"),
     then apply again
  2  usage error, including split knowledge given up without saying so:
     the same PGP key for two shares (--allow-shared-holder), threshold 1
     with several shares (--allow-threshold-1), no --root-token-pgp-key
  3  the bootstrap needs the root token (--token-file; "next": "bootstrap"),
     or a seal migration needs a restart ("next": "migrate"), or the
     transit seal's token expires soon (transit-token)
  4  vault is sealed: unseal it (after init, a restart, or to join a
     cluster; "next": "unseal"; "migrate": unseal --migrate)
  6  permission denied: the token given for the bootstrap is not valid
     (transit-token: the transit seal's token is revoked or expired)

Example:
  vault-install plan --pgp-key alice.asc --pgp-key bob.asc --pgp-key carol.asc --root-token-pgp-key alice.asc --key-shares 3 --key-threshold 2`

type installFlags struct {
	Root string `default:"/" type:"path" help:"Install under this directory instead of / (users, ownership and systemd are then left alone)."`

	Source       string `enum:"release,go" default:"release" help:"Where the binary comes from when --binary is not given: release (HashiCorp, signature-checked) or go (built from the Go module proxy)."`
	Binary       string `type:"existingfile" help:"Install this Vault binary."`
	VaultVersion string `name:"vault-version" default:"1.21.1" help:"Vault version to fetch or build."`
	Mirror       string `default:"https://releases.hashicorp.com" help:"Base URL of releases.hashicorp.com or a mirror with the same layout."`
	TrustedKey   string `type:"existingfile" hidden:"" help:"Trust this OpenPGP key instead of HashiCorp's (tests only)."`
	Arch         string `help:"Release architecture (default: this machine's)."`
	BuildCmd     string `name:"build-script" default:"scripts/vault-binary" help:"Script that builds Vault for --source go."`

	NodeID        string   `name:"node-id" help:"Raft node id (default: the hostname)."`
	Listen        string   `default:"0.0.0.0:8200" help:"API listener address."`
	ClusterListen string   `help:"Cluster (raft) listener address (default: 127.0.0.1:8201, or 0.0.0.0:8201 with --join or --cluster-addr; give it on the first node of a cluster before others join)."`
	APIAddr       string   `name:"api-addr" help:"Address clients and peers use (default: https://<node id>:<port>)."`
	ClusterAddr   string   `name:"cluster-addr" help:"Cluster address peers use."`
	SAN           []string `name:"san" help:"Extra DNS name or IP for the server certificate (repeatable)."`
	TLSCert       string   `name:"tls-cert" type:"existingfile" help:"Use this certificate (e.g. Let's Encrypt) instead of a local CA."`
	TLSKey        string   `name:"tls-key" type:"existingfile" help:"Key of --tls-cert."`
	TLSCACert     string   `name:"tls-ca-cert" type:"existingfile" help:"Issue the server certificate from this CA (share one CA across cluster nodes)."`
	TLSCAKey      string   `name:"tls-ca-key" type:"existingfile" help:"Key of --tls-ca-cert; used for this run only, never copied to the host."`
	TLS13Only     bool     `name:"tls13-only" help:"Refuse TLS 1.2 as well (default minimum: TLS 1.2)."`
	UI            bool     `help:"Enable the web UI."`
	Join          []string `help:"Join the raft cluster of this https:// peer (repeatable)."`
	JoinCACert    string   `name:"join-ca-cert" type:"existingfile" help:"CA of the peers' certificates (default: this node's CA)."`

	User    string `default:"vault" help:"System user Vault runs as (created when installing as root on /)."`
	Service string `enum:"auto,systemd,none" default:"auto" help:"Start Vault with systemd, or leave starting it to someone else (none). auto: systemd on /, else none."`

	KeyShares       int           `default:"5" help:"Number of unseal key shares."`
	KeyThreshold    int           `default:"3" help:"Shares needed to unseal."`
	PGPKey          []string      `name:"pgp-key" type:"existingfile" help:"Public key a share is encrypted to (once per share)."`
	RootTokenPGPKey string        `name:"root-token-pgp-key" type:"existingfile" help:"Public key the initial root token is encrypted to (required with --pgp-key; may be one of them)."`
	SharedHolder    bool          `name:"allow-shared-holder" help:"Allow the same PGP key for more than one share (one holder then holds several)."`
	Threshold1      bool          `name:"allow-threshold-1" help:"Allow --key-threshold 1 with several shares (any one holder unseals alone)."`
	KeepRoot        bool          `name:"keep-root" help:"Do not revoke the root token after the bootstrap."`
	Policies        string        `type:"path" env:"VAULTPIPE_POLICIES" placeholder:"DIR" help:"policies/ directory (acl/*.hcl, approles/*.hcl) to apply at the bootstrap."`
	SecondAudit     string        `name:"second-audit" enum:"file,syslog" default:"file" help:"Second audit device: file (audit-secondary.log) or syslog."`
	WaitStart       time.Duration `name:"wait" default:"60s" env:"VAULTPIPE_WAIT" placeholder:"DURATION" help:"How long to wait for the service after starting it."`

	Seal             string `enum:"shamir,transit" default:"shamir" help:"How Vault unseals: shamir (a threshold of key shares after every start) or transit (itself, with a key of another Vault; the shares become recovery shares). Changing it on an initialised node is a seal migration: restart, then unseal --migrate."`
	TransitAddress   string `name:"transit-address" help:"https:// URL of the Vault holding the transit key (with --seal shamir: the transit seal being migrated away from)."`
	TransitKey       string `name:"transit-key" default:"vault-unseal" help:"Transit key name."`
	TransitMount     string `name:"transit-mount" default:"transit" help:"Transit mount path on that Vault."`
	TransitCACert    string `name:"transit-ca-cert" type:"existingfile" help:"CA of the transit Vault's certificate (copied to /etc/vault.d/transit-ca.pem)."`
	TransitTokenFile string `name:"transit-token-file" type:"existingfile" help:"File (0600) with a periodic token of policies/transit-seal.hcl on the transit Vault; it is written into vault.hcl (root:vault 0640), never argv or environment."`

	Conn vaultclient.Conn `embed:""`
	Auth vaultclient.Auth `embed:""`
}

type cli struct {
	Plan  planCmd     `cmd:"" help:"Print what apply would change, as JSON."`
	Apply applyCmd    `cmd:"" help:"Converge the host: install, configure, initialise, bootstrap."`
	Unsl  unsealFlags `cmd:"" name:"unseal" help:"Unseal with key shares read from stdin or --share-file."`
	Token tokenFlags  `cmd:"" name:"transit-token" help:"Check the TTL of the transit seal's token (reads vault.hcl: run as root)."`
	Fetch fetchFlags  `cmd:"" help:"Download and verify the release binary only (SHA256SUMS signed by HashiCorp, then the zip's checksum) to --out."`
}

type fetchFlags struct {
	Out          string `required:"" type:"path" help:"Write the verified vault binary here (0755)."`
	VaultVersion string `name:"vault-version" default:"1.21.1" help:"Vault version to fetch."`
	Mirror       string `default:"https://releases.hashicorp.com" help:"Base URL of releases.hashicorp.com or a mirror with the same layout."`
	TrustedKey   string `type:"existingfile" hidden:"" help:"Trust this OpenPGP key instead of HashiCorp's (tests only)."`
	Arch         string `help:"Release architecture (default: this machine's)."`
}

type tokenFlags struct {
	Root   string        `default:"/" type:"path" help:"Installation root whose etc/vault.d/vault.hcl holds the transit seal."`
	MinTTL time.Duration `name:"min-ttl" help:"Exit 3 when the token has less than this left (default: half its period, 12h without one)."`
}

type unsealFlags struct {
	ShareFile []string         `name:"share-file" env:"VAULTPIPE_SHARE_FILE" type:"existingfile" placeholder:"FILE" help:"File holding one or more key shares, one per line (repeatable)."`
	Migrate   bool             `help:"Submit the shares for a seal migration (after a restart with a changed --seal: the unseal shares to go to transit, the recovery shares to go back)."`
	Conn      vaultclient.Conn `embed:""`
}

type planCmd struct{ installFlags }

type applyCmd struct{ installFlags }

func main() {
	command.Main(command.Program{Name: name, Description: description, Grammar: &cli{},
		// --version V named Vault's version before every tool had --version.
		Renamed: []command.Renamed{{Old: "version", New: "vault-version"}}})
}

func (c *planCmd) Run(env *command.Env) error  { return c.run(env, false) }
func (c *applyCmd) Run(env *command.Env) error { return c.run(env, true) }

func (f *unsealFlags) Run(env *command.Env) error {
	var shares []string
	var err error
	if len(f.ShareFile) > 0 {
		shares, err = unseal.ReadFiles(f.ShareFile)
	} else if shares, err = unseal.ReadShares(env.Stdin, "stdin"); err != nil {
		err = fault.New(fault.BadInput, "", "", err)
	}
	if err != nil {
		return err
	}
	vc, err := env.Vault(vaultclient.Options{NoAuth: true})
	if err != nil {
		return err
	}
	res, err := unseal.SubmitMigrate(env.Context(), vc, shares, f.Migrate)
	if err := env.Answer(res, err); err != nil {
		return err
	}
	return res.Err()
}

func (f *fetchFlags) Run(env *command.Env) error {
	rep, err := install.FetchRelease(env.Context(), install.BinarySource{Version: f.VaultVersion, Mirror: f.Mirror, TrustedKey: f.TrustedKey, Arch: f.Arch}, f.Out)
	if err != nil {
		return err
	}
	return env.Answer(rep, nil)
}

func (f *tokenFlags) Run(env *command.Env) error {
	rep, err := install.CheckTransitToken(env.Context(), f.Root, f.MinTTL)
	return env.Answer(rep, err)
}

func (f *installFlags) options() *install.Options {
	service := f.Service
	if service == "auto" {
		service = "none"
		if f.Root == "/" {
			service = "systemd"
		}
	}
	return &install.Options{
		Root: f.Root, NodeID: f.NodeID, Listen: f.Listen, ClusterListen: f.ClusterListen,
		APIAddr: f.APIAddr, ClusterAddr: f.ClusterAddr, SANs: f.SAN,
		TLSCert: f.TLSCert, TLSKey: f.TLSKey, CACert: f.TLSCACert, CAKey: f.TLSCAKey,
		TLS13Only: f.TLS13Only, UI: f.UI, Join: f.Join, JoinCACert: f.JoinCACert,
		User: f.User, Service: service,
		Shares: f.KeyShares, Threshold: f.KeyThreshold, PGPKeys: f.PGPKey, RootTokenPGPKey: f.RootTokenPGPKey,
		AllowSharedHolder: f.SharedHolder, AllowThreshold1: f.Threshold1,
		KeepRoot: f.KeepRoot, Policies: f.Policies, SecondAudit: f.SecondAudit,
		Seal: f.Seal, Transit: install.Transit{Address: f.TransitAddress, Key: f.TransitKey, Mount: f.TransitMount,
			CACert: f.TransitCACert, TokenFile: f.TransitTokenFile},
	}
}

func (f *installFlags) run(env *command.Env, apply bool) error {
	ctx, stderr := env.Context(), env.Stderr
	o := f.options()
	if err := o.Validate(); err != nil {
		if fault.KindOf(err) != fault.Unknown {
			return err
		}
		return fault.Usagef("%v", err)
	}
	tmp, err := os.MkdirTemp("", "vault-install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := install.BinarySource{Path: f.Binary, Kind: f.Source, Version: f.VaultVersion, Mirror: f.Mirror,
		TrustedKey: f.TrustedKey, Arch: f.Arch, BuildScript: f.BuildCmd, Log: progress(stderr), BuildLog: stderr}
	if err := o.ResolveBinary(ctx, src, apply, tmp); err != nil {
		return err
	}
	conn := &f.Conn // env.Vault reads these when the runner connects
	if conn.Address == "https://127.0.0.1:8200" && os.Getenv("VAULT_ADDR") == "" {
		// Not set by the operator: talk to the listener this run configures.
		if _, port, err := net.SplitHostPort(f.Listen); err == nil {
			conn.Address = "https://127.0.0.1:" + port
		}
	}
	if conn.CACert == "" && conn.CAPath == "" && f.TLSCert == "" {
		conn.CACert = o.Path(install.Layout.ExportedCA)
	}
	hasToken := os.Getenv("VAULT_TOKEN") != "" || f.Auth.TokenFile != "" || f.Auth.RoleIDFile != ""
	r := &install.Runner{
		Opts:      o,
		HasToken:  hasToken,
		Log:       progress(stderr),
		WaitStart: f.WaitStart,
		Connect: func(context.Context) (*vaultclient.Client, error) {
			return env.Vault(vaultclient.Options{NoAuth: !hasToken})
		},
	}
	var rep *install.Report
	if apply {
		rep, err = r.Apply(ctx)
	} else {
		rep, err = r.Plan(ctx)
	}
	err = env.Answer(rep, err)
	if rep != nil {
		if apply && err == nil && !rep.Changed {
			fmt.Fprintf(stderr, "%s: nothing to change: the host is converged\n", name)
		}
		for _, c := range rep.Changes {
			if apply && c.Path == install.Layout.CAKey {
				fmt.Fprintf(stderr, "%s: the local CA's private key is in %s: move it off this host (apply needs it again only to issue a server certificate, with --tls-ca-cert and --tls-ca-key)\n", name, o.Path(c.Path))
			}
		}
	}
	return err
}

// progress returns stderr when it is a terminal: humans watching get
// progress lines, logs and pipes do not.
func progress(stderr io.Writer) io.Writer {
	if command.IsTerminal(stderr) {
		return stderr
	}
	return nil
}
