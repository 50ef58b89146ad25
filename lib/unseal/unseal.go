// Package unseal brings a sealed Vault server back from key shares held in
// files: the systemd credentials that vault-unseal.service receives, or
// share files an operator names. No share is ever logged, printed or
// written; errors name the file and line, never the text.
package unseal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/health"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// CredentialName is the name of the systemd credential holding the shares
// (LoadCredentialEncrypted=vault-unseal.shares:…).
const CredentialName = "vault-unseal.shares"

// Report is what FromFiles did. It never holds a share.
type Report struct {
	Address string `json:"address"`
	// Status is the server's state when it last answered (lib/health), or
	// unreachable; Sealed stays true until the server says otherwise.
	Status          health.Status `json:"status"`
	Sealed          bool          `json:"sealed"`
	AlreadyUnsealed bool          `json:"already_unsealed"`
	Progress        int           `json:"progress"`
	Threshold       int           `json:"threshold"`
	Submitted       int           `json:"submitted"`
	SealType        string        `json:"seal_type,omitempty"`
	WaitedMS        int64         `json:"waited_ms"`
}

// ShareFiles returns the files to read: those given, else the systemd
// credential in $CREDENTIALS_DIRECTORY.
func ShareFiles(given []string) ([]string, error) {
	if len(given) > 0 {
		return given, nil
	}
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return nil, fault.WithHint(fault.Usagef("no --share-file given and $CREDENTIALS_DIRECTORY is not set"),
			"run it from systemd/vault-unseal.service, or pass --share-file")
	}
	return []string{filepath.Join(dir, CredentialName)}, nil
}

// ReadFiles reads every share in files, in order.
func ReadFiles(files []string) ([]string, error) {
	var shares []string
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fault.WithHint(fault.New(fault.BadInput, "reading shares from", p, errors.New("no such file")),
					"make the credential with scripts/vault-unseal-credential, or check --share-file")
			}
			return nil, fault.New(fault.BadInput, "reading shares from", p, err)
		}
		s, err := ReadShares(f, p)
		f.Close()
		if err != nil {
			return nil, fault.New(fault.BadInput, "", "", err)
		}
		shares = append(shares, s...)
	}
	if len(shares) == 0 {
		return nil, fault.Errorf(fault.BadInput, "no key shares in %v", files)
	}
	return shares, nil
}

// FromFiles waits up to wait for the server to answer, then unseals it with
// the shares in files. A server already unsealed is left alone (the files
// are still read, so a broken credential is noticed at once).
func FromFiles(ctx context.Context, vc *vaultclient.Client, files []string, wait time.Duration) (*Report, error) {
	shares, err := ReadFiles(files)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{Address: vc.Address(), Status: health.Unreachable, Sealed: true}
	h, err := health.Wait(ctx, vc, health.WaitOptions{For: wait, Interval: 250 * time.Millisecond,
		Until: func(*health.Report) bool { return true }})
	rep.WaitedMS = time.Since(start).Milliseconds()
	if err != nil {
		if fault.Is(err, fault.Unreachable) {
			err = fmt.Errorf("waited %s: %w", wait, err)
		}
		return rep, err
	}
	rep.Status = h.Status
	if h.Seal != nil {
		rep.SealType, rep.Threshold, rep.Progress = h.Seal.Type, h.Seal.Threshold, h.Seal.Progress
	}
	rep.Sealed = h.Sealed
	switch h.Status {
	case health.Uninitialized:
		return rep, fault.New(fault.Uninitialized, "unsealing", vc.Address(), errors.New("vault is not initialised"))
	case health.Sealed:
	default:
		rep.AlreadyUnsealed = true
		return rep, nil
	}
	res, err := Submit(ctx, vc, shares)
	if res != nil {
		rep.Sealed, rep.Progress, rep.Threshold, rep.Submitted = res.Sealed, res.Progress, res.Threshold, res.Submitted
	}
	if err != nil {
		return rep, err
	}
	if !rep.Sealed {
		rep.Status = health.Active
		if h2, err := health.Check(ctx, vc); err == nil {
			rep.Status = h2.Status
		}
	}
	if err := res.Err(); err != nil {
		return rep, fault.WithHint(err,
			"the credential holds too few shares, or shares of another cluster: remake it (scripts/vault-unseal-credential)")
	}
	return rep, nil
}

// ToActive submits shares until vc's server is unsealed, then waits up to
// 60s until it is the active node. A server still sealed when the shares
// run out is a fault.Sealed.
func ToActive(ctx context.Context, vc *vaultclient.Client, shares []string) (*Progress, error) {
	return until(ctx, vc, shares, health.Active)
}

// ToStandby is ToActive for a node that joined a cluster: it waits until
// the node is a standby.
func ToStandby(ctx context.Context, vc *vaultclient.Client, shares []string) (*Progress, error) {
	return until(ctx, vc, shares, health.Standby)
}

func until(ctx context.Context, vc *vaultclient.Client, shares []string, want health.Status) (*Progress, error) {
	res, err := Submit(ctx, vc, shares)
	if err != nil {
		return res, err
	}
	if err := res.Err(); err != nil {
		return res, err
	}
	h, err := health.Wait(ctx, vc, health.WaitOptions{For: 60 * time.Second, Interval: 200 * time.Millisecond,
		Until: func(r *health.Report) bool { return r.Status == want }})
	if err == nil && h.Status != want {
		err = fmt.Errorf("%s 60s after unsealing; want %s", h.Status, want)
	}
	return res, err
}
