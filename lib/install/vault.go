package install

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/policy"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// Report is what Plan found or Apply did (one JSON document on stdout).
type Report struct {
	Root     string      `json:"root"`
	NodeID   string      `json:"node_id"`
	APIAddr  string      `json:"api_addr"`
	Changes  []Change    `json:"changes"`
	Changed  bool        `json:"changed"`
	Vault    *VaultState `json:"vault,omitempty"`
	CACert   string      `json:"ca_cert"`
	InitFile string      `json:"init_file,omitempty"`
	// Next is what the operator has to do before the next apply, if
	// anything ("start", "unseal", "bootstrap").
	Next string `json:"next,omitempty"`
}

// VaultState is the server as last seen.
type VaultState struct {
	Reachable   bool `json:"reachable"`
	Initialized bool `json:"initialized"`
	Sealed      bool `json:"sealed"`
	Standby     bool `json:"standby"`
}

// Pending is returned by Apply when the host is as converged as it can be
// without an operator: the server must be started, or unsealed, or the
// bootstrap needs the root token.
type Pending struct {
	Next string // start, unseal, bootstrap
	Msg  string
}

func (p *Pending) Error() string { return p.Msg }

// FaultKind gives the exit code: a server to start is a failure, a sealed
// one is sealed, a bootstrap waiting for the root token needs attention.
func (p *Pending) FaultKind() fault.Kind {
	switch p.Next {
	case "unseal":
		return fault.Sealed
	case "bootstrap":
		return fault.NeedsRoot
	}
	return fault.Unreachable
}

// InitFile is what initialisation writes (mode 0600): every share and the
// root token encrypted to a recipient's PGP key. Nothing in it is usable
// without the recipients' private keys.
type InitFile struct {
	InitializedAt string        `json:"initialized_at"`
	Shares        int           `json:"shares"`
	Threshold     int           `json:"threshold"`
	UnsealShares  []InitShare   `json:"unseal_shares"`
	RootToken     InitRootToken `json:"root_token"`
}

// InitShare is one unseal key share encrypted to Recipient.
type InitShare struct {
	Recipient
	EncryptedB64 string `json:"encrypted_share_b64"`
}

// InitRootToken is the initial root token encrypted to Recipient.
type InitRootToken struct {
	Recipient
	EncryptedB64 string `json:"encrypted_b64"`
}

// State is what vault-install remembers between runs, for the steps it can
// no longer check once the root token is gone.
type State struct {
	BootstrappedAt   string `json:"bootstrapped_at,omitempty"`
	RootTokenRevoked bool   `json:"root_token_revoked"`
}

// Runner carries out Plan and Apply.
type Runner struct {
	Opts *Options
	// Connect builds a client for the local server; it is called after the
	// files (and so the CA) are in place. It may return a client without a
	// token.
	Connect func(ctx context.Context) (*vaultclient.Client, error)
	// HasToken reports whether the client carries a token.
	HasToken bool
	// Log receives progress lines (stderr); nil discards them.
	Log io.Writer
	// Systemctl runs systemctl; nil runs the real one.
	Systemctl func(ctx context.Context, args ...string) error
	// WaitStart bounds the wait for the server after a (re)start.
	WaitStart time.Duration
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

func (r *Runner) report() *Report {
	o := r.Opts
	return &Report{Root: o.Root, NodeID: o.NodeID, APIAddr: o.APIAddr, Changes: []Change{},
		CACert: o.Path(Layout.ExportedCA), InitFile: o.Path(Layout.InitFile)}
}

// Plan reports what Apply would change, without changing anything.
func (r *Runner) Plan(ctx context.Context) (*Report, error) {
	o := r.Opts
	rep := r.report()
	if c := o.userPlan(); c != nil {
		rep.Changes = append(rep.Changes, *c)
	}
	_, _, changes, err := o.filePlan()
	if err != nil {
		return nil, err
	}
	rep.Changes = append(rep.Changes, changes...)
	if o.Service == "systemd" {
		if c := r.servicePlan(ctx, len(changes) > 0); c != nil {
			rep.Changes = append(rep.Changes, *c)
		}
	}
	if _, err := os.Stat(o.Path(Layout.ExportedCA)); err != nil && o.TLSCert == "" {
		// Without the CA the server cannot be checked yet.
		rep.Changes = append(rep.Changes, Change{Step: "init", Action: "create", Detail: "after the server starts"})
		rep.Changed = true
		return rep, nil
	}
	vc, err := r.Connect(ctx)
	if err != nil {
		return nil, err
	}
	st, err := state(ctx, vc)
	rep.Vault = st
	switch {
	case err != nil || !st.Reachable:
		rep.Changes = append(rep.Changes, Change{Step: "service", Action: "start", Detail: "server not reachable at " + vc.Address()})
	case !st.Initialized && len(o.Join) > 0:
		rep.Changes = append(rep.Changes, Change{Step: "join", Action: "wait", Detail: "joins " + strings.Join(o.Join, ", ") + " once unsealed"})
	case !st.Initialized:
		rep.Changes = append(rep.Changes, Change{Step: "init", Action: "create", Path: Layout.InitFile,
			Detail: fmt.Sprintf("%d shares, threshold %d, encrypted to PGP keys", o.Shares, o.Threshold)})
	case st.Sealed:
		rep.Changes = append(rep.Changes, Change{Step: "unseal", Action: "wait", Detail: "needs a threshold of key shares (vault-install unseal)"})
	case !st.Standby:
		bc, err := r.bootstrap(ctx, vc, true)
		if err != nil {
			return nil, err
		}
		rep.Changes = append(rep.Changes, bc...)
	}
	rep.Changed = len(rep.Changes) > 0
	return rep, nil
}

// Apply converges the host. It returns a *Pending error, with the report,
// when an operator has to act before the next run.
func (r *Runner) Apply(ctx context.Context) (*Report, error) {
	o := r.Opts
	rep := r.report()
	if c := o.userPlan(); c != nil {
		r.logf("creating system user %s", o.User)
		if err := o.createUser(ctx); err != nil {
			return rep, err
		}
		rep.Changes = append(rep.Changes, *c)
	}
	dirs, files, changes, err := o.filePlan()
	if err != nil {
		return rep, err
	}
	if err := o.applyFiles(dirs, files, changes); err != nil {
		return rep, err
	}
	for _, c := range changes {
		r.logf("%s %s %s", c.Action, c.Step, c.Path)
	}
	rep.Changes = append(rep.Changes, changes...)
	if o.Service == "systemd" {
		if c := r.servicePlan(ctx, len(changes) > 0); c != nil {
			r.logf("%s vault.service", c.Action)
			if err := r.serviceApply(ctx, c.Action); err != nil {
				return rep, err
			}
			rep.Changes = append(rep.Changes, *c)
		}
	}
	defer func() { rep.Changed = len(rep.Changes) > 0 }()

	vc, err := r.Connect(ctx)
	if err != nil {
		return rep, err
	}
	wait := time.Duration(0)
	if o.Service == "systemd" {
		wait = r.WaitStart
	}
	st, err := waitReachable(ctx, vc, wait)
	rep.Vault = st
	if err != nil || !st.Reachable {
		rep.Next = "start"
		return rep, &Pending{Next: "start", Msg: fmt.Sprintf("vault is not running at %s: start it (vault server -config=%s), then run apply again", vc.Address(), o.Path(Layout.Config))}
	}
	if !st.Initialized {
		if len(o.Join) > 0 {
			rep.Changes = append(rep.Changes, Change{Step: "join", Action: "wait", Detail: "joins " + strings.Join(o.Join, ", ") + " once unsealed"})
			rep.Next = "unseal"
			return rep, &Pending{Next: "unseal", Msg: "this node joins the cluster when unsealed with the cluster's key shares (vault-install unseal)"}
		}
		if err := r.initialize(ctx, vc); err != nil {
			return rep, err
		}
		rep.Changes = append(rep.Changes, Change{Step: "init", Action: "create", Path: Layout.InitFile,
			Detail: fmt.Sprintf("%d shares, threshold %d, encrypted to PGP keys", o.Shares, o.Threshold)})
		rep.Vault.Initialized, rep.Vault.Sealed = true, true
		rep.Next = "unseal"
		return rep, &Pending{Next: "unseal", Msg: fmt.Sprintf("vault is initialised and sealed: have %d share holders decrypt their shares from %s and run vault-install unseal", o.Threshold, o.Path(Layout.InitFile))}
	}
	if st.Sealed {
		rep.Next = "unseal"
		return rep, &Pending{Next: "unseal", Msg: "vault is sealed: unseal it with a threshold of key shares (vault-install unseal)"}
	}
	if st.Standby {
		return rep, nil // the active node holds the bootstrap
	}
	bc, err := r.bootstrap(ctx, vc, false)
	rep.Changes = append(rep.Changes, bc...)
	if err != nil {
		var p *Pending
		if errors.As(err, &p) {
			rep.Next = p.Next
		}
		return rep, err
	}
	return rep, nil
}

func state(ctx context.Context, vc *vaultclient.Client) (*VaultState, error) {
	// sys/init first: it is the one answer that decides whether to initialise.
	initialized, err := vc.Sys().InitStatusWithContext(ctx)
	if err != nil {
		err = vaultclient.Classify(err, "reading init status", "sys/init")
		if fault.Is(err, fault.Unreachable) {
			return &VaultState{}, nil
		}
		return &VaultState{}, err
	}
	ss, err := vc.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return &VaultState{Reachable: true, Initialized: initialized}, vaultclient.Classify(err, "reading seal status", "sys/seal-status")
	}
	st := &VaultState{Reachable: true, Initialized: initialized, Sealed: ss.Sealed}
	if ss.Initialized && !ss.Sealed {
		h, err := vc.Sys().HealthWithContext(ctx)
		if err != nil {
			return st, vaultclient.Classify(err, "reading health", "sys/health")
		}
		st.Standby = h.Standby
	}
	return st, nil
}

func waitReachable(ctx context.Context, vc *vaultclient.Client, wait time.Duration) (*VaultState, error) {
	deadline := time.Now().Add(wait)
	// A node that was just unsealed reports standby until it has won its
	// own election; give it that long before treating it as a standby.
	standbyDeadline := time.Now().Add(max(wait, 5*time.Second))
	for {
		st, err := state(ctx, vc)
		if err == nil && st.Reachable && (!st.Initialized || st.Sealed || !st.Standby || time.Now().After(standbyDeadline)) {
			return st, nil
		}
		if (err != nil || !st.Reachable) && time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (r *Runner) initialize(ctx context.Context, vc *vaultclient.Client) error {
	o := r.Opts
	if len(o.PGPKeys) != o.Shares {
		return &fault.Error{Kind: fault.Usage, Err: fmt.Errorf("initialising needs one --pgp-key per key share: %d shares, %d keys", o.Shares, len(o.PGPKeys)),
			Hint: "give --pgp-key once per share holder (a file may repeat), or change --key-shares"}
	}
	var recips []Recipient
	for _, k := range o.PGPKeys {
		rc, err := LoadRecipient(k)
		if err != nil {
			return fault.New(fault.BadInput, "loading", k, err)
		}
		recips = append(recips, rc)
	}
	rootKey := recips[0]
	if o.RootTokenPGPKey != "" {
		rc, err := LoadRecipient(o.RootTokenPGPKey)
		if err != nil {
			return fault.New(fault.BadInput, "loading", o.RootTokenPGPKey, err)
		}
		rootKey = rc
	}
	// The init file is created before Vault is initialised, so that a write
	// failure cannot lose the only copy of the shares.
	initPath := o.Path(Layout.InitFile)
	if err := safefile.Write(initPath, []byte("{}\n"), 0o600); err != nil {
		return err
	}
	req := &api.InitRequest{SecretShares: o.Shares, SecretThreshold: o.Threshold, RootTokenPGPKey: rootKey.b64}
	for _, rc := range recips {
		req.PGPKeys = append(req.PGPKeys, rc.b64)
	}
	r.logf("initialising vault: %d shares, threshold %d", o.Shares, o.Threshold)
	resp, err := vc.Sys().InitWithContext(ctx, req)
	if err != nil {
		os.Remove(initPath)
		return vaultclient.Classify(err, "initialising", "sys/init")
	}
	if len(resp.KeysB64) != len(recips) {
		return fmt.Errorf("vault returned %d shares for %d keys", len(resp.KeysB64), len(recips))
	}
	f := InitFile{
		InitializedAt: o.now().UTC().Format(time.RFC3339),
		Shares:        o.Shares, Threshold: o.Threshold,
		RootToken: InitRootToken{Recipient: rootKey, EncryptedB64: resp.RootToken},
	}
	for i, rc := range recips {
		f.UnsealShares = append(f.UnsealShares, InitShare{Recipient: rc, EncryptedB64: resp.KeysB64[i]})
	}
	data, _ := json.MarshalIndent(f, "", "  ")
	if err := safefile.Write(initPath, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("vault is initialised but writing %s failed: %w", initPath, err)
	}
	return nil
}

// bootstrap converges the secrets engine, audit devices, AppRole auth and
// policies, then revokes the root token. dry only reports.
func (r *Runner) bootstrap(ctx context.Context, vc *vaultclient.Client, dry bool) ([]Change, error) {
	o := r.Opts
	var st State
	if data, err := os.ReadFile(o.Path(Layout.StateFile)); err == nil {
		_ = json.Unmarshal(data, &st)
	}
	if !r.HasToken {
		if st.BootstrappedAt != "" {
			return nil, nil // done before; nothing to check it with
		}
		c := Change{Step: "bootstrap", Action: "wait", Detail: "needs the root token (--token-file with the decrypted root_token of the init file)"}
		if dry {
			return []Change{c}, nil
		}
		return []Change{c}, &Pending{Next: "bootstrap", Msg: "the bootstrap needs the root token: decrypt root_token from " + o.Path(Layout.InitFile) + " into a 0600 file and pass it with --token-file"}
	}
	var changes []Change
	add := func(c Change, do func() error) error {
		changes = append(changes, c)
		if dry {
			return nil
		}
		r.logf("%s %s %s", c.Action, c.Step, c.Path)
		return do()
	}

	mounts, err := vc.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return changes, vaultclient.Classify(err, "listing mounts", "sys/mounts")
	}
	if m, ok := mounts["secret/"]; !ok || m.Type != "kv" || m.Options["version"] != "2" {
		if ok {
			return changes, fault.Errorf(fault.Conflict, "secret/ is mounted as %s (version %q), not kv version 2; move it away first", m.Type, m.Options["version"])
		}
		if err := add(Change{Step: "secrets-engine", Action: "create", Path: "secret/", Detail: "kv version 2"}, func() error {
			return vaultclient.Classify(vc.Sys().MountWithContext(ctx, "secret", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}, Description: "application secrets"}), "mounting", "sys/mounts/secret")
		}); err != nil {
			return changes, err
		}
	}

	audits, err := vc.Sys().ListAuditWithContext(ctx)
	if err != nil {
		return changes, vaultclient.Classify(err, "listing audit devices", "sys/audit")
	}
	second := auditDevice{"file-secondary", api.EnableAuditOptions{Type: "file", Description: secondAuditWhy,
		Options: map[string]string{"file_path": o.Path(Layout.AuditLog2), "mode": "0600"}}}
	if o.SecondAudit == "syslog" {
		second = auditDevice{"syslog", api.EnableAuditOptions{Type: "syslog", Description: secondAuditWhy,
			Options: map[string]string{"tag": "vault", "facility": "AUTH"}}}
	}
	devices := []auditDevice{
		{"file", api.EnableAuditOptions{Type: "file", Description: "primary audit log",
			Options: map[string]string{"file_path": o.Path(Layout.AuditLog), "mode": "0600"}}},
		second,
	}
	for _, d := range devices {
		if have, ok := audits[d.name+"/"]; ok {
			if have.Type == d.opts.Type && have.Options["file_path"] == d.opts.Options["file_path"] {
				continue
			}
			return changes, fault.Errorf(fault.Conflict, "audit device %s/ exists with other settings (type %s); disable it first", d.name, have.Type)
		}
		opts := d.opts
		if err := add(Change{Step: "audit-device", Action: "create", Path: d.name + "/", Detail: d.opts.Type + " " + d.opts.Options["file_path"]}, func() error {
			return vaultclient.Classify(vc.Sys().EnableAuditWithOptionsWithContext(ctx, d.name, &opts), "enabling audit device", "sys/audit/"+d.name)
		}); err != nil {
			return changes, err
		}
	}

	if o.Policies != "" {
		set, err := policy.LoadDir(o.Policies)
		if err != nil {
			return changes, err
		}
		prep, err := policy.Sync(ctx, vc, set, policy.SyncOptions{DryRun: dry})
		if prep != nil {
			for _, pc := range prep.Changes {
				if pc.Action == policy.ActionCreate || pc.Action == policy.ActionUpdate {
					changes = append(changes, Change{Step: "policy", Action: pc.Action, Path: pc.Kind + "/" + pc.Name, Detail: pc.File})
				}
			}
		}
		if err != nil {
			return changes, err
		}
	} else {
		auths, err := vc.Sys().ListAuthWithContext(ctx)
		if err != nil {
			return changes, vaultclient.Classify(err, "listing auth methods", "sys/auth")
		}
		if _, ok := auths["approle/"]; !ok {
			if err := add(Change{Step: "auth-method", Action: "create", Path: "approle/"}, func() error {
				return vaultclient.Classify(vc.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}), "enabling auth method", "sys/auth/approle")
			}); err != nil {
				return changes, err
			}
		}
	}

	self, err := vc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return changes, vaultclient.Classify(err, "looking up the token", "auth/token/lookup-self")
	}
	pols, _ := self.TokenPolicies()
	isRoot := slices.Contains(pols, "root")
	if !dry {
		st.BootstrappedAt = o.now().UTC().Format(time.RFC3339)
		st.RootTokenRevoked = isRoot && !o.KeepRoot
		data, _ := json.MarshalIndent(st, "", "  ")
		if err := safefile.Write(o.Path(Layout.StateFile), append(data, '\n'), 0o640); err != nil {
			return changes, err
		}
	}
	if isRoot && !o.KeepRoot {
		if err := add(Change{Step: "root-token", Action: "revoke", Detail: "emergency access goes through generate-root (scripts/emergency-root.sh)"}, func() error {
			return vaultclient.Classify(vc.Auth().Token().RevokeSelfWithContext(ctx, ""), "revoking the root token", "auth/token/revoke-self")
		}); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

type auditDevice struct {
	name string
	opts api.EnableAuditOptions
}

const secondAuditWhy = "second audit device: Vault blocks requests when its only device fails"

// servicePlan says what systemd must do: enable and start the unit, or
// restart it after its files changed.
func (r *Runner) servicePlan(ctx context.Context, filesChanged bool) *Change {
	active := r.systemctl(ctx, "is-active", "--quiet", "vault.service") == nil
	enabled := r.systemctl(ctx, "is-enabled", "--quiet", "vault.service") == nil
	switch {
	case !active || !enabled:
		return &Change{Step: "service", Action: "start", Path: Layout.Unit, Detail: "systemctl enable --now vault"}
	case filesChanged:
		return &Change{Step: "service", Action: "restart", Path: Layout.Unit, Detail: "files changed; vault comes back sealed"}
	}
	return nil
}

func (r *Runner) serviceApply(ctx context.Context, action string) error {
	if err := r.systemctl(ctx, "daemon-reload"); err != nil {
		return err
	}
	if action == "restart" {
		return r.systemctl(ctx, "restart", "vault.service")
	}
	return r.systemctl(ctx, "enable", "--now", "vault.service")
}

func (r *Runner) systemctl(ctx context.Context, args ...string) error {
	if r.Systemctl != nil {
		return r.Systemctl(ctx, args...)
	}
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// UnsealResult is what Unseal reports (no share ever appears in it).
type UnsealResult struct {
	Sealed    bool `json:"sealed"`
	Progress  int  `json:"progress"`
	Threshold int  `json:"threshold"`
	Submitted int  `json:"submitted"`
}

// ReadShares reads key shares, one per line, from r. Blank lines and lines
// starting with # are skipped; a line that is neither hex nor base64 is an
// error naming its number (but never its content).
func ReadShares(r io.Reader, name string) ([]string, error) {
	var shares []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if len(s) < 16 || len(s) > 1024 || strings.IndexFunc(s, func(c rune) bool {
			return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '/' || c == '=')
		}) >= 0 {
			return nil, fmt.Errorf("%s line %d: not a key share (want hex or base64)", name, n)
		}
		shares = append(shares, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return shares, nil
}

// Unseal submits shares until the server is unsealed or they run out.
func Unseal(ctx context.Context, vc *vaultclient.Client, shares []string) (*UnsealResult, error) {
	res := &UnsealResult{Sealed: true}
	ss, err := vc.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return nil, vaultclient.Classify(err, "reading seal status", "sys/seal-status")
	}
	res.Sealed, res.Progress, res.Threshold = ss.Sealed, ss.Progress, ss.T
	for _, s := range shares {
		if !res.Sealed {
			break
		}
		var ss *api.SealStatusResponse
		// A node joining a raft cluster takes shares only once its first
		// join attempt (every few seconds) is under way.
		deadline := time.Now().Add(15 * time.Second)
		for {
			ss, err = vc.Sys().UnsealWithContext(ctx, s)
			err = vaultclient.Classify(err, "submitting key share", fmt.Sprintf("#%d", res.Submitted+1))
			if !fault.Is(err, fault.Uninitialized) || time.Now().After(deadline) {
				break
			}
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return res, err
			}
		}
		if err != nil {
			// Vault's message for a bad share does not echo it; keep it that way.
			return res, err
		}
		res.Submitted++
		res.Sealed, res.Progress, res.Threshold = ss.Sealed, ss.Progress, ss.T
	}
	// A joining node unseals only after the leader answered its challenge.
	for deadline := time.Now().Add(30 * time.Second); res.Sealed && res.Submitted > 0 && res.Progress == 0 && time.Now().Before(deadline); {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return res, err
		}
		if ss, err := vc.Sys().SealStatusWithContext(ctx); err == nil {
			res.Sealed, res.Progress = ss.Sealed, ss.Progress
		}
	}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
