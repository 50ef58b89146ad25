// The vault-unseal command unseals the local Vault server from key shares
// that systemd hands over as credentials, so that a single node comes back
// unsealed after a restart, a crash or a reboot with nobody typing.
//
// Usage:
//
//	vault-unseal [--share-file FILE]... [--wait DURATION] [connection flags]
//
// It waits (up to --wait) for the listener to answer, then submits shares
// until the server is unsealed. Without --share-file it reads
// $CREDENTIALS_DIRECTORY/vault-unseal.shares, the credential that
// systemd/vault-unseal.service loads with LoadCredentialEncrypted= (made by
// scripts/vault-unseal-credential). Shares are hex or base64, one per line;
// they are never accepted as arguments, never printed, and never written
// anywhere. A server that is already unsealed is left alone.
//
// This mode trades split knowledge for availability: whoever is root on the
// host can unseal Vault. See docs/runbooks/unattended-unseal.md.
//
// Output (stdout): {"address", "status", "sealed", "already_unsealed", "progress",
// "threshold", "submitted", "seal_type", "waited_ms"}.
//
// Exit status:
//
//	0  unsealed (or it already was)
//	1  failure: vault did not answer within --wait, or no share file
//	2  usage error
//	4  still sealed: too few shares, or not of this cluster
//	5  vault is not initialised
//
// Example (the unit's ExecStart):
//
//	vault-unseal --wait 90s --share-file ${CREDENTIALS_DIRECTORY}/vault-unseal.shares
package main

import (
	"time"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-unseal"

const description = `Unseal the local Vault from key shares handed over by systemd credentials.

Without --share-file, reads $CREDENTIALS_DIRECTORY/vault-unseal.shares.

Exit status:
  0  unsealed (or it already was)
  1  failure: vault did not answer within --wait, or no share file
  2  usage error
  4  still sealed: too few shares, or not of this cluster
  5  vault is not initialised

Example:
  vault-unseal --wait 90s --share-file "$CREDENTIALS_DIRECTORY/vault-unseal.shares"`

type cli struct {
	ShareFile []string      `name:"share-file" env:"VAULTPIPE_SHARE_FILE" type:"path" placeholder:"FILE" help:"File holding key shares, one per line (repeatable)."`
	Wait      time.Duration `default:"60s" env:"VAULTPIPE_WAIT" help:"How long to wait for the listener to answer." placeholder:"DURATION"`

	Vault vaultclient.Conn `embed:""`
}

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

func (c *cli) Run(env *command.Env) error {
	files, err := unseal.ShareFiles(c.ShareFile)
	if err != nil {
		return err
	}
	vc, err := env.Vault(vaultclient.Options{NoAuth: true})
	if err != nil {
		return err
	}
	vc.SetMaxRetries(0) // the wait loop is the retry
	rep, err := unseal.FromFiles(env.Context(), vc, files, c.Wait)
	return env.Answer(rep, err)
}
