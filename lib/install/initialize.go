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
