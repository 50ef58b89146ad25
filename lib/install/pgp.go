package install

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"

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
