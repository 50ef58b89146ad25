// Package installtest holds test helpers for vault-install: it starts Vault
// servers from the configuration files vault-install writes, as the current
// user and tied to the test process (parent-death signal), and makes and
// uses throwaway OpenPGP keys for key shares.
package installtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// Proc is a running vault server (lib/vaulttest's process, so that one
// mechanism ties every test server to the test binary's life).
type Proc = vaulttest.Process

// Start runs `binary server -config=config` with a clean environment,
// appending its output to logPath.
func Start(binary, config, logPath string) (*Proc, error) {
	return vaulttest.StartProcess(binary, config, logPath)
}

// KillAll kills every server still running (TestMain's last line of defence).
func KillAll() { vaulttest.KillAll() }

// Key is a throwaway OpenPGP key pair.
type Key struct{ Entity *openpgp.Entity }

// NewKey makes a key for name. Curve25519 keeps generation instant.
func NewKey(name string) (*Key, error) {
	e, err := openpgp.NewEntity(name, "share holder", name+"@example.invalid",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		return nil, err
	}
	return &Key{Entity: e}, nil
}

// Public returns the armored public key.
func (k *Key) Public() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := k.Entity.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Private returns the armored private key.
func (k *Key) Private() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := k.Entity.SerializePrivate(w, nil); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadPrivate parses an armored private key.
func ReadPrivate(data []byte) (*Key, error) {
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if len(el) != 1 || el[0].PrivateKey == nil {
		return nil, errors.New("want exactly one private key")
	}
	return &Key{Entity: el[0]}, nil
}

// DecryptB64 decrypts what Vault returns for a PGP-encrypted share or root
// token: base64 of a binary OpenPGP message.
func (k *Key) DecryptB64(b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", err
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(raw), openpgp.EntityList{k.Entity}, nil, nil)
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
