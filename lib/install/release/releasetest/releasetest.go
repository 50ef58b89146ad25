// Package releasetest builds Vault-release-shaped directories signed with a
// throwaway OpenPGP key, and serves them from 127.0.0.1, so that tests can
// exercise the whole download and verification chain of lib/install/release
// without reaching HashiCorp.
package releasetest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// NewKey makes a signing key. Ed25519 keeps generation instant.
func NewKey(name string) (*openpgp.Entity, error) {
	return openpgp.NewEntity(name, "test release key", name+"@example.invalid",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
}

// ArmoredPublic returns the armored public key of e.
func ArmoredPublic(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Tamper says what to spoil in a written release.
type Tamper string

const (
	Good        Tamper = "good"
	TamperZip   Tamper = "zip"    // the zip changes after the sums were signed
	TamperSums  Tamper = "sums"   // the sums change after they were signed
	WrongSigner Tamper = "signer" // the sums are signed by another key
)

// Write lays out dir/vault/<version>/ as HashiCorp's release site does, with
// a zip holding payload as the file "vault" for linux/<arch>.
func Write(dir, version, arch string, payload []byte, signer *openpgp.Entity, tamper Tamper) error {
	rel := filepath.Join(dir, "vault", version)
	if err := os.MkdirAll(rel, 0o755); err != nil {
		return err
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	hdr := &zip.FileHeader{Name: "vault", Method: zip.Deflate}
	hdr.SetMode(0o755)
	fw, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := fw.Write(payload); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	zipName := fmt.Sprintf("vault_%s_linux_%s.zip", version, arch)
	sum := sha256.Sum256(zbuf.Bytes())
	sums := fmt.Sprintf("%s  %s\n%s  vault_%s_darwin_arm64.zip\n", hex.EncodeToString(sum[:]), zipName,
		hex.EncodeToString(make([]byte, 32)), version)
	key := signer
	if tamper == WrongSigner {
		if key, err = NewKey("mallory"); err != nil {
			return err
		}
	}
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, key, bytes.NewReader([]byte(sums)), nil); err != nil {
		return err
	}
	zipData := zbuf.Bytes()
	switch tamper {
	case TamperZip:
		zipData = append(bytes.Clone(zipData), 0)
	case TamperSums:
		sums = hex.EncodeToString(make([]byte, 32)) + "  " + zipName + "\n"
	}
	files := map[string][]byte{
		zipName: zipData,
		fmt.Sprintf("vault_%s_SHA256SUMS", version):     []byte(sums),
		fmt.Sprintf("vault_%s_SHA256SUMS.sig", version): sig.Bytes(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(rel, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Serve serves dir over plain HTTP on a free 127.0.0.1 port and returns
// its base URL and a function that stops it.
func Serve(dir string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}
