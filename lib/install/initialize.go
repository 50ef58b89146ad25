package install

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// InitFile is what initialisation writes (mode 0600): every share and the
// root token encrypted to a recipient's PGP key. Nothing in it is usable
// without the recipients' private keys. With the transit seal the shares
// are recovery shares (they make a root token or migrate the seal back,
// but do not unseal); Seal says which.
type InitFile struct {
	InitializedAt  string        `json:"initialized_at"`
	Seal           string        `json:"seal"`
	Shares         int           `json:"shares"`
	Threshold      int           `json:"threshold"`
	UnsealShares   []InitShare   `json:"unseal_shares,omitempty"`
	RecoveryShares []InitShare   `json:"recovery_shares,omitempty"`
	RootToken      InitRootToken `json:"root_token"`
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

func (r *Runner) initialize(ctx context.Context, vc *vaultclient.Client) error {
	o := r.Opts
	recips, rootKey, err := o.holders()
	if err != nil {
		return err
	}
	// The init file is created before Vault is initialised, so that a write
	// failure cannot lose the only copy of the shares.
	initPath := o.Path(Layout.InitFile)
	if err := safefile.Write(initPath, []byte("{}\n"), 0o600); err != nil {
		return err
	}
	req := &api.InitRequest{RootTokenPGPKey: rootKey.b64}
	transit := o.Seal == "transit"
	for _, rc := range recips {
		if transit {
			req.RecoveryPGPKeys = append(req.RecoveryPGPKeys, rc.b64)
		} else {
			req.PGPKeys = append(req.PGPKeys, rc.b64)
		}
	}
	if transit {
		req.RecoveryShares, req.RecoveryThreshold = o.Shares, o.Threshold
	} else {
		req.SecretShares, req.SecretThreshold = o.Shares, o.Threshold
	}
	r.logf("initialising vault (%s seal): %d shares, threshold %d", o.Seal, o.Shares, o.Threshold)
	resp, err := vc.Sys().InitWithContext(ctx, req)
	if err != nil {
		os.Remove(initPath)
		return vaultclient.Classify(err, "initialising", "sys/init")
	}
	keys := resp.KeysB64
	if transit {
		keys = resp.RecoveryKeysB64
	}
	if len(keys) != len(recips) {
		return fmt.Errorf("vault returned %d shares for %d keys", len(keys), len(recips))
	}
	f := InitFile{
		InitializedAt: o.now().UTC().Format(time.RFC3339), Seal: o.Seal,
		Shares: o.Shares, Threshold: o.Threshold,
		RootToken: InitRootToken{Recipient: rootKey, EncryptedB64: resp.RootToken},
	}
	for i, rc := range recips {
		sh := InitShare{Recipient: rc, EncryptedB64: keys[i]}
		if transit {
			f.RecoveryShares = append(f.RecoveryShares, sh)
		} else {
			f.UnsealShares = append(f.UnsealShares, sh)
		}
	}
	data, _ := json.MarshalIndent(f, "", "  ")
	if err := safefile.Write(initPath, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("vault is initialised but writing %s failed: %w", initPath, err)
	}
	return nil
}
