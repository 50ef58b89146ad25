package install

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/install/release"
)

// Recipient is a PGP public key an unseal share (or the root token) is
// encrypted to.
type Recipient struct {
	File        string `json:"key_file"`
	Fingerprint string `json:"fingerprint"`
	// b64 is the binary public key, base64-encoded, as Vault's pgp_keys want.
	b64 string
}

// LoadRecipient reads an armored or binary OpenPGP public key file holding
// exactly one key.
func LoadRecipient(path string) (Recipient, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Recipient{}, fmt.Errorf("reading PGP key: %w", err)
	}
	el, err := release.Keyring(data)
	if err != nil {
		return Recipient{}, fmt.Errorf("%s: not an OpenPGP public key: %v", path, err)
	}
	if len(el) != 1 {
		return Recipient{}, fmt.Errorf("%s: holds %d keys; want exactly one per share", path, len(el))
	}
	if el[0].PrivateKey != nil {
		return Recipient{}, fmt.Errorf("%s: holds a private key; give the public key only", path)
	}
	var buf bytes.Buffer
	if err := el[0].Serialize(&buf); err != nil {
		return Recipient{}, fmt.Errorf("%s: %v", path, err)
	}
	return Recipient{File: path, Fingerprint: release.Fingerprint(el[0]), b64: base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// holders loads the share holders' keys and the root token's, enforcing
// split knowledge: one key per share, no key twice (a holder with two
// shares needs fewer others to unseal) unless AllowSharedHolder, and a root
// token key the operator named rather than one picked for them.
func (o *Options) holders() ([]Recipient, Recipient, error) {
	if len(o.PGPKeys) != o.Shares {
		return nil, Recipient{}, &fault.Error{Kind: fault.Usage, Err: fmt.Errorf("initialising needs one --pgp-key per key share: %d shares, %d keys", o.Shares, len(o.PGPKeys)),
			Hint: "give --pgp-key once per share holder, each with their own key, or change --key-shares"}
	}
	if o.RootTokenPGPKey == "" {
		return nil, Recipient{}, &fault.Error{Kind: fault.Usage, Err: errors.New("no --root-token-pgp-key: name the key the initial root token is encrypted to"),
			Hint: "it may be one of the --pgp-key files; the bootstrap revokes the token once it has run"}
	}
	var recips []Recipient
	seen := map[string]string{}
	for _, k := range o.PGPKeys {
		rc, err := LoadRecipient(k)
		if err != nil {
			return nil, Recipient{}, fault.New(fault.BadInput, "loading", k, err)
		}
		if first, dup := seen[rc.Fingerprint]; dup && !o.AllowSharedHolder {
			return nil, Recipient{}, &fault.Error{Kind: fault.Usage,
				Err:  fmt.Errorf("--pgp-key %s: key %s is already given as --pgp-key %s: one holder would get two shares", k, rc.Fingerprint, first),
				Hint: "give each share holder's own key; --allow-shared-holder if one person is meant to hold several shares"}
		}
		seen[rc.Fingerprint] = k
		recips = append(recips, rc)
	}
	root, err := LoadRecipient(o.RootTokenPGPKey)
	if err != nil {
		return nil, Recipient{}, fault.New(fault.BadInput, "loading", o.RootTokenPGPKey, err)
	}
	return recips, root, nil
}
