package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/install/release"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// BinarySource says where the server binary comes from.
type BinarySource struct {
	// Path installs this file as is; the fields below are then unused.
	Path string
	// Kind is "release" (HashiCorp's, signature-checked; the default) or
	// "go" (built from the Go module proxy by BuildScript).
	Kind    string
	Version string
	// Mirror is the base URL of releases.hashicorp.com or a mirror of it.
	Mirror string
	// TrustedKey is a file holding the OpenPGP key to trust instead of
	// HashiCorp's (tests only).
	TrustedKey  string
	Arch        string // default: this machine's
	BuildScript string
	// Log receives progress lines; BuildLog the build script's stderr.
	Log, BuildLog io.Writer
}

// ResolveBinary sets o.Binary and o.BinaryFrom from src. An installed
// binary of the wanted version is kept. With fetch (apply), a release is
// downloaded and verified, or the build run, into tmp before anything
// under the root is touched; without it (plan) the source is only named.
func (o *Options) ResolveBinary(ctx context.Context, src BinarySource, fetch bool, tmp string) error {
	if src.Path != "" {
		o.Binary, o.BinaryFrom = src.Path, "copy of "+src.Path
		return nil
	}
	if o.installedVersion(ctx) == src.Version {
		return nil // the wanted version is in place
	}
	switch src.Kind {
	case "go":
		o.BinaryFrom = "build of github.com/hashicorp/vault@v" + src.Version + " (" + src.BuildScript + ")"
		if !fetch {
			return nil
		}
		cmd := exec.CommandContext(ctx, src.BuildScript)
		cmd.Env = append(os.Environ(), "VAULT_VERSION="+src.Version, "VAULT_FLAVOR=vault")
		cmd.Stderr = src.BuildLog
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("building vault with %s: %w", src.BuildScript, err)
		}
		o.Binary = strings.TrimSpace(string(out))
		return nil
	default:
		rel, err := src.release()
		if err != nil {
			return err
		}
		o.BinaryFrom = "verified release " + src.zipURL(rel)
		if !fetch {
			return nil
		}
		if src.Log != nil {
			fmt.Fprintf(src.Log, "downloading and verifying %s\n", rel.ZipName())
		}
		dest := filepath.Join(tmp, "vault")
		if err := fetchRelease(ctx, rel, tmp, dest); err != nil {
			return err
		}
		o.Binary = dest
		return nil
	}
}

// release is the HashiCorp release src names, trusting HashiCorp's key (or
// src.TrustedKey).
func (src BinarySource) release() (*release.Source, error) {
	keyring := release.HashiCorpKeyring()
	if src.TrustedKey != "" {
		data, err := os.ReadFile(src.TrustedKey)
		if err != nil {
			return nil, err
		}
		if keyring, err = release.Keyring(data); err != nil {
			return nil, fault.New(fault.BadInput, "reading trusted key", src.TrustedKey, err)
		}
	}
	rel := &release.Source{BaseURL: src.Mirror, Version: src.Version, OS: "linux", Arch: src.Arch, Keyring: keyring}
	if rel.Arch == "" {
		rel.Arch = runtime.GOARCH
	}
	return rel, nil
}

func (src BinarySource) zipURL(rel *release.Source) string {
	base := src.Mirror
	if base == "" {
		base = release.DefaultBaseURL
	}
	return strings.TrimSuffix(base, "/") + "/vault/" + src.Version + "/" + rel.ZipName()
}

func fetchRelease(ctx context.Context, rel *release.Source, tmp, dest string) error {
	if err := rel.Fetch(ctx, tmp, dest); err != nil {
		var re *release.Error
		if errors.As(err, &re) {
			return &fault.Error{Kind: fault.BadInput, Err: err, Hint: "nothing was installed; check --mirror and --version, and never bypass a failed check"}
		}
		return err
	}
	return nil
}

// Fetched is what FetchRelease wrote.
type Fetched struct {
	File    string `json:"file"`
	Version string `json:"version"`
	URL     string `json:"url"`
	Signer  string `json:"signer"` // fingerprint of the key trusted
}

// FetchRelease downloads the release src names, verifies it as apply does
// (the signature over SHA256SUMS, then the zip's checksum) and writes the
// vault binary to dest (0755, atomically); on any failure dest is left as
// it was.
func FetchRelease(ctx context.Context, src BinarySource, dest string) (*Fetched, error) {
	rel, err := src.release()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return nil, err
	}
	if err := fetchRelease(ctx, rel, "", abs); err != nil {
		return nil, err
	}
	return &Fetched{File: abs, Version: src.Version, URL: src.zipURL(rel), Signer: release.Fingerprint(rel.Keyring[0])}, nil
}

// installedVersion is the version of the binary installed under the root,
// or "" when there is none that answers `vault version`.
func (o *Options) installedVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, o.Path(Layout.Binary), "version").Output()
	if err != nil {
		return ""
	}
	return parseVersion(string(out))
}

// parseVersion reads the version from `vault version` output
// ("Vault v1.21.1, built …" or "Vault v1.21.1 (…)").
func parseVersion(out string) string {
	v, ok := strings.CutPrefix(out, "Vault v")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(v, " ,(\n"); i >= 0 {
		v = v[:i]
	}
	return v
}

func (o *Options) binaryPlan() (*Change, error) {
	dst := o.Path(Layout.Binary)
	if o.Binary == "" {
		if _, err := os.Stat(dst); err == nil {
			return nil, nil
		}
		return &Change{Step: "binary", Action: "create", Path: Layout.Binary, Detail: o.BinaryFrom}, nil
	}
	same, err := sameContent(o.Binary, dst)
	if err != nil {
		return nil, err
	}
	if same {
		if fi, err := os.Stat(dst); err == nil && fi.Mode().Perm() == 0o755 {
			return nil, nil
		}
	}
	return &Change{Step: "binary", Action: "update", Path: Layout.Binary, Detail: o.BinaryFrom}, nil
}

// sameContent compares two files byte by byte (cheaper than hashing both).
func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, fmt.Errorf("reading binary: %w", err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if os.IsNotExist(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer fb.Close()
	sa, _ := fa.Stat()
	sb, _ := fb.Stat()
	if os.SameFile(sa, sb) {
		return true, nil
	}
	if sa.Size() != sb.Size() {
		return false, nil
	}
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea != nil || eb != nil {
			return (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF), nil
		}
	}
}

func (o *Options) installBinary() error {
	if o.Binary == "" {
		return errors.New("no Vault binary to install")
	}
	src, err := os.Open(o.Binary)
	if err != nil {
		return err
	}
	defer src.Close()
	return safefile.WriteFunc(o.Path(Layout.Binary), 0o755, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}
