package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
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

// Pending is returned by Apply when the host is as converged as it can be
// without an operator: the server must be started, or unsealed, or the
// bootstrap needs the root token.
type Pending struct {
	Next string // start, unseal, bootstrap, migrate
	Msg  string
	// Kind, when set, is the exit code's kind (a seal migration waiting
	// for a restart is not a sealed server).
	Kind fault.Kind
}

func (p *Pending) Error() string { return p.Msg }

// FaultKind gives the exit code: a server to start is a failure, a sealed
// one is sealed, a bootstrap waiting for the root token needs attention.
func (p *Pending) FaultKind() fault.Kind {
	if p.Kind != "" {
		return p.Kind
	}
	switch p.Next {
	case "unseal":
		return fault.Sealed
	case "bootstrap":
		return fault.NeedsRoot
	}
	return fault.Unreachable
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
			Detail: o.initDetail()})
	case o.Transit.Address != "" && r.sealPending(ctx, vc, st) != nil:
		p := r.sealPending(ctx, vc, st)
		rep.Changes = append(rep.Changes, Change{Step: "seal", Action: "wait", Detail: p.Msg})
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
		msg := fmt.Sprintf("vault is not running at %s: start it (vault server -config=%s), then run apply again", vc.Address(), o.Path(Layout.Config))
		if o.Seal == "transit" {
			msg += fmt.Sprintf("; with the transit seal vault does not start while the transit Vault at %s (key %s/%s) is unreachable or sealed, or the token is not valid: see vault's log", o.Transit.Address, o.Transit.Mount, o.Transit.Key)
		}
		return rep, &Pending{Next: "start", Msg: msg}
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
			Detail: o.initDetail()})
		rep.Vault.Initialized, rep.Vault.Sealed = true, true
		if o.Seal == "transit" {
			rep.Next = "bootstrap"
			return rep, &Pending{Next: "bootstrap", Msg: fmt.Sprintf("vault is initialised and unseals itself through the transit seal at %s: the recovery shares and the root token are encrypted in %s; run apply again with the decrypted root token (--token-file)", o.Transit.Address, o.Path(Layout.InitFile))}
		}
		rep.Next = "unseal"
		return rep, &Pending{Next: "unseal", Msg: fmt.Sprintf("vault is initialised and sealed: have %d share holders decrypt their shares from %s and run vault-install unseal", o.Threshold, o.Path(Layout.InitFile))}
	}
	if o.Transit.Address != "" {
		if p := r.sealPending(ctx, vc, st); p != nil {
			rep.Next = p.Next
			return rep, fault.WithHint(p, "docs/runbooks/transit-unseal.md has the steps")
		}
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
