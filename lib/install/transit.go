package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

// Transit is the seal "transit" of another Vault that unseals this one.
type Transit struct {
	Address   string // https URL of the transit Vault
	Key       string // transit key name
	Mount     string // transit mount path
	CACert    string // file: CA of the transit Vault's certificate (optional)
	TokenFile string // file: a periodic token allowed encrypt/decrypt on Key only

	token  string // read from TokenFile by Validate
	caData []byte // read from CACert by Validate
}

// transitCAFile is where a copy of --transit-ca-cert goes (root:vault
// 0640), so that the vault user reads it wherever the operator kept it.
const transitCAFile = "/etc/vault.d/transit-ca.pem"

// validateSeal checks the seal options: --seal transit needs the transit
// Vault's address and token; --seal shamir with them renders the transit
// stanza disabled, which is how a node migrates back to Shamir shares.
func (o *Options) validateSeal() error {
	switch o.Seal {
	case "":
		o.Seal = "shamir"
	case "shamir", "transit":
	default:
		return fmt.Errorf("--seal %q: want shamir or transit", o.Seal)
	}
	t := &o.Transit
	if t.Address == "" {
		if o.Seal == "transit" {
			return &fault.Error{Kind: fault.Usage, Err: errors.New("--seal transit needs --transit-address"),
				Hint: "the https:// URL of the Vault that holds the transit key, with --transit-token-file"}
		}
		if t.TokenFile != "" || t.CACert != "" {
			return errors.New("--transit-token-file and --transit-ca-cert go with --transit-address")
		}
		return nil
	}
	if len(o.Join) > 0 {
		return errors.New("--seal transit is for a single node: a joining node takes the seal of the cluster it joins")
	}
	if t.Key == "" {
		t.Key = "vault-unseal"
	}
	if t.Mount == "" {
		t.Mount = "transit"
	}
	if t.TokenFile == "" {
		return &fault.Error{Kind: fault.Usage, Err: errors.New("--transit-address needs --transit-token-file"),
			Hint: "a file (0600) holding a periodic token of the transit-seal policy; never a token on the command line"}
	}
	fi, err := os.Stat(t.TokenFile)
	if err != nil {
		return fault.New(fault.BadInput, "reading", t.TokenFile, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &fault.Error{Kind: fault.Usage, Err: fmt.Errorf("--transit-token-file %s: mode %#o lets others read the token", t.TokenFile, fi.Mode().Perm()),
			Hint: "chmod 600 it"}
	}
	data, err := os.ReadFile(t.TokenFile)
	if err != nil {
		return fault.New(fault.BadInput, "reading", t.TokenFile, err)
	}
	t.token = string(bytes.TrimSpace(data))
	if t.token == "" || bytes.ContainsAny([]byte(t.token), " \t\r\n") {
		return fault.New(fault.BadInput, "reading", t.TokenFile, errors.New("want one token on one line"))
	}
	if t.CACert != "" {
		if t.caData, err = os.ReadFile(t.CACert); err != nil {
			return fault.New(fault.BadInput, "reading", t.CACert, err)
		}
	}
	return nil
}

// transitSeal is the stanza vault.hcl gets, or nil for plain Shamir.
func (o *Options) transitSeal() *vaultconfig.TransitSeal {
	t := o.Transit
	if t.Address == "" {
		return nil
	}
	s := &vaultconfig.TransitSeal{Address: t.Address, MountPath: t.Mount, KeyName: t.Key, Token: t.token,
		Disabled: o.Seal != "transit"}
	if t.CACert != "" {
		s.CACert = o.Path(transitCAFile)
	}
	return s
}

// transitFiles are the files the transit seal adds to the layout.
func (o *Options) transitFiles() []fileSpec {
	if o.Transit.Address == "" || o.Transit.CACert == "" {
		return nil
	}
	return []fileSpec{{step: "config", path: transitCAFile, mode: 0o640, data: o.Transit.caData, owner: "root:vault"}}
}

func (o *Options) initDetail() string {
	if o.Seal == "transit" {
		return fmt.Sprintf("transit seal, %d recovery shares, threshold %d, encrypted to PGP keys", o.Shares, o.Threshold)
	}
	return fmt.Sprintf("%d shares, threshold %d, encrypted to PGP keys", o.Shares, o.Threshold)
}

// sealPending compares the running server's seal with the one asked for
// (when a transit seal is configured, enabled or disabled) and says what
// the operator has to do, or nil when they agree and it is unsealed.
func (r *Runner) sealPending(ctx context.Context, vc *vaultclient.Client, st *VaultState) *Pending {
	o := r.Opts
	ss, err := vc.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return nil // the state checks that follow report it
	}
	from, to := "shamir", o.Seal
	if to == "shamir" {
		from = "transit"
	}
	old := "unseal"
	if from == "transit" {
		old = "recovery"
	}
	switch {
	case ss.Migration:
		return &Pending{Next: "migrate", Kind: fault.Sealed, Msg: fmt.Sprintf(
			"vault is sealed and migrating its seal from %s to %s: submit a threshold of the %s shares with vault-install unseal --migrate", from, to, old)}
	case ss.Type != to && !ss.Sealed:
		return &Pending{Next: "migrate", Kind: fault.Mismatch, Msg: fmt.Sprintf(
			"vault runs with the %s seal and %s now asks for %s: restart vault, then submit a threshold of the %s shares with vault-install unseal --migrate", ss.Type, o.Path(Layout.Config), to, old)}
	case ss.Sealed && ss.Type == "transit" && to == "transit":
		return &Pending{Next: "unseal", Kind: fault.Sealed, Msg: fmt.Sprintf(
			"vault is sealed although its seal is transit: the transit Vault at %s (key %s/%s) did not unseal it; check that it is up and unsealed and that the token in --transit-token-file is valid, then restart vault", o.Transit.Address, o.Transit.Mount, o.Transit.Key)}
	}
	return nil
}

// checkSealKept refuses to render a config without the transit seal over
// one whose transit seal is in use: that would leave a node Vault cannot
// unseal at its next start. The way back is --seal shamir with the
// --transit-* flags (a disabled stanza) and unseal --migrate.
func (o *Options) checkSealKept() error {
	if o.Transit.Address != "" {
		return nil
	}
	old, err := os.ReadFile(o.Path(Layout.Config))
	if err != nil || !bytes.Contains(old, []byte(`seal "transit"`)) || bytes.Contains(old, []byte(`disabled`)) {
		return nil
	}
	return &fault.Error{Kind: fault.Usage, Err: fmt.Errorf("%s has a transit seal and no --transit-address was given: the rewritten config would lose it", o.Path(Layout.Config)),
		Hint: "keep it with --seal transit --transit-address …; to go back to key shares, --seal shamir with the --transit-* flags, restart, then vault-install unseal --migrate (docs/runbooks/transit-unseal.md)"}
}
