// Package release obtains a Vault server binary from a HashiCorp release
// (or a mirror of one) and verifies it in the order that makes the chain
// hold: the detached OpenPGP signature over vault_<ver>_SHA256SUMS against a
// pinned key first, then the zip's SHA-256 against that signed list, and only
// then unpacks the vault binary from the zip.
package release

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// HashiCorpKey is HashiCorp's release signing key as published at
// https://www.hashicorp.com/.well-known/pgp-key.txt (the 2026 re-signature
// that extends its expiry to 2030).
//
//go:embed hashicorp.asc
var HashiCorpKey []byte

// HashiCorpFingerprint is the primary fingerprint HashiCorp publishes for
// HashiCorpKey.
const HashiCorpFingerprint = "C874011F0AB405110D02105534365D9472D7468F"

// DefaultBaseURL is HashiCorp's release site.
const DefaultBaseURL = "https://releases.hashicorp.com"

// Check names one link of the verification chain.
type Check string

const (
	CheckDownload  Check = "download"
	CheckSignature Check = "signature"
	CheckChecksum  Check = "checksum"
	CheckArchive   Check = "archive"
)

// Error says which check failed. Nothing was installed when it is returned.
type Error struct {
	Check Check
	Name  string // file or URL concerned
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s check failed for %s: %v", e.Check, e.Name, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Keyring parses an armored or binary OpenPGP public key file.
func Keyring(data []byte) (openpgp.EntityList, error) {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		return openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	}
	return openpgp.ReadKeyRing(bytes.NewReader(data))
}

// HashiCorpKeyring returns the embedded HashiCorp key.
func HashiCorpKeyring() openpgp.EntityList {
	el, err := Keyring(HashiCorpKey)
	if err != nil {
		panic("embedded HashiCorp key: " + err.Error()) // covered by a unit test
	}
	return el
}

// Fingerprint returns the upper-case hex primary fingerprint of e.
func Fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// Source says where a release comes from.
type Source struct {
	BaseURL string // DefaultBaseURL or a mirror with the same layout
	Version string // e.g. 1.21.1
	OS      string // linux
	Arch    string // amd64, arm64
	Keyring openpgp.EntityList
	Client  *http.Client
	// MaxZip bounds the download; a release zip of Vault is ~150 MB.
	MaxZip int64
}

// ZipName is vault_<ver>_<os>_<arch>.zip.
func (s *Source) ZipName() string {
	return fmt.Sprintf("vault_%s_%s_%s.zip", s.Version, s.os(), s.arch())
}

// SumsName is vault_<ver>_SHA256SUMS.
func (s *Source) SumsName() string { return fmt.Sprintf("vault_%s_SHA256SUMS", s.Version) }

func (s *Source) os() string {
	if s.OS == "" {
		return runtime.GOOS
	}
	return s.OS
}

func (s *Source) arch() string {
	if s.Arch == "" {
		return runtime.GOARCH
	}
	return s.Arch
}

func (s *Source) url(name string) (string, error) {
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid release base URL %q", base)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		// The signature protects integrity either way; https keeps what is
		// fetched private and makes a broken mirror fail early.
		return "", fmt.Errorf("release base URL %q: use https (plain http only to loopback)", base)
	}
	return strings.TrimSuffix(u.String(), "/") + "/vault/" + s.Version + "/" + name, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Fetch downloads the release into a temporary directory under tmpDir,
// verifies it and writes the vault binary to dest (mode 0755). On any
// failure dest is left untouched and the error is an *Error.
func (s *Source) Fetch(ctx context.Context, tmpDir, dest string) error {
	if s.Version == "" {
		return errors.New("no Vault version given")
	}
	if len(s.Keyring) == 0 {
		return errors.New("no trusted signing key")
	}
	work, err := os.MkdirTemp(tmpDir, "vault-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	sumsName := s.SumsName()
	sums, err := s.get(ctx, sumsName, 1<<20)
	if err != nil {
		return err
	}
	sig, err := s.get(ctx, sumsName+".sig", 1<<20)
	if err != nil {
		return err
	}
	if err := VerifySignature(s.Keyring, sums, sig); err != nil {
		return &Error{Check: CheckSignature, Name: sumsName, Err: err}
	}
	zipName := s.ZipName()
	want, err := SumFor(sums, zipName)
	if err != nil {
		return &Error{Check: CheckChecksum, Name: zipName, Err: err}
	}
	zipPath := filepath.Join(work, zipName)
	got, err := s.download(ctx, zipName, zipPath)
	if err != nil {
		return err
	}
	if got != want {
		return &Error{Check: CheckChecksum, Name: zipName, Err: fmt.Errorf("sha256 is %s, the signed list says %s", got, want)}
	}
	if err := Unpack(zipPath, "vault", dest); err != nil {
		return &Error{Check: CheckArchive, Name: zipName, Err: err}
	}
	return nil
}

func (s *Source) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	// A mirror that does not answer fails in seconds, not at the overall
	// limit that a slow 150 MB download needs.
	return &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: time.Minute,
	}}
}

func (s *Source) request(ctx context.Context, name string) (*http.Response, string, error) {
	u, err := s.url(name)
	if err != nil {
		return nil, "", &Error{Check: CheckDownload, Name: name, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, u, &Error{Check: CheckDownload, Name: u, Err: err}
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return nil, u, &Error{Check: CheckDownload, Name: u, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, u, &Error{Check: CheckDownload, Name: u, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	return resp, u, nil
}

func (s *Source) get(ctx context.Context, name string, limit int64) ([]byte, error) {
	resp, u, err := s.request(ctx, name)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &Error{Check: CheckDownload, Name: u, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &Error{Check: CheckDownload, Name: u, Err: fmt.Errorf("larger than %d bytes", limit)}
	}
	return data, nil
}

// download streams name into path and returns its hex SHA-256.
func (s *Source) download(ctx context.Context, name, path string) (string, error) {
	resp, u, err := s.request(ctx, name)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	limit := s.MaxZip
	if limit <= 0 {
		limit = 2 << 30
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return "", &Error{Check: CheckDownload, Name: u, Err: err}
	}
	if n > limit {
		return "", &Error{Check: CheckDownload, Name: u, Err: fmt.Errorf("larger than %d bytes", limit)}
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

// VerifySignature checks that sig (binary or armored) is a valid detached
// signature over signed by a key of keyring.
func VerifySignature(keyring openpgp.EntityList, signed, sig []byte) error {
	var err error
	if bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN")) {
		_, err = openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(signed), bytes.NewReader(sig), nil)
	} else {
		_, err = openpgp.CheckDetachedSignature(keyring, bytes.NewReader(signed), bytes.NewReader(sig), nil)
	}
	if err != nil {
		return fmt.Errorf("not signed by a trusted key: %w", err)
	}
	return nil
}

// ParseSums parses a SHA256SUMS file ("<64 hex>  <name>" per line) into a
// map from file name to lower-case hex digest. Any malformed line is an error
// naming its number.
func ParseSums(data []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(strings.TrimLeft(name, " "), "*") // "*" marks binary mode in sha256sum output
		if !ok || len(sum) != 64 || name == "" || strings.ContainsAny(name, " /\\") {
			return nil, fmt.Errorf("line %d: want \"<sha256>  <file name>\"", n)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("line %d: checksum is not hex", n)
		}
		if _, dup := sums[name]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", n, name)
		}
		sums[name] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return sums, nil
}

// SumFor returns the digest listed for name in a SHA256SUMS file.
func SumFor(sums []byte, name string) (string, error) {
	m, err := ParseSums(sums)
	if err != nil {
		return "", err
	}
	s, ok := m[name]
	if !ok {
		return "", fmt.Errorf("%s is not listed in the signed checksums", name)
	}
	return s, nil
}

// Unpack extracts the regular file called member from the zip at zipPath to
// dest (mode 0755), atomically.
func Unpack(zipPath, member, dest string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("reading zip: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != member {
			continue
		}
		if !f.Mode().IsRegular() {
			return fmt.Errorf("%s in the zip is not a regular file", member)
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		const limit = 2 << 30
		return safefile.WriteFunc(dest, 0o755, func(w io.Writer) error {
			n, err := io.Copy(w, io.LimitReader(rc, limit+1))
			if err != nil {
				return fmt.Errorf("unpacking %s: %w", member, err)
			}
			if n > limit {
				return fmt.Errorf("%s is larger than %d bytes", member, limit)
			}
			return nil
		})
	}
	return fmt.Errorf("no %s in the zip", member)
}
