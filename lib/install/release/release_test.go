package release_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/vaultpipe/vaultpipe/lib/install/release"
	"github.com/vaultpipe/vaultpipe/lib/install/release/releasetest"
)

func TestEmbeddedKeyIsHashiCorps(t *testing.T) {
	el := release.HashiCorpKeyring()
	if len(el) != 1 {
		t.Fatalf("embedded keyring holds %d keys; want 1", len(el))
	}
	got := release.Fingerprint(el[0])
	if got != release.HashiCorpFingerprint || got != strings.ReplaceAll("C874 011F 0AB4 0511 0D02 1055 3436 5D94 72D7 468F", " ", "") {
		t.Fatalf("Fingerprint(embedded key) = %s; want %s", got, release.HashiCorpFingerprint)
	}
	if len(el[0].Subkeys) == 0 {
		t.Fatalf("embedded key has no subkeys; releases are signed by a subkey")
	}
}

func TestFetch(t *testing.T) {
	signer, err := releasetest.NewKey("release")
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("#!/bin/sh\necho stand-in vault\n")
	for _, tc := range []struct {
		tamper releasetest.Tamper
		check  release.Check
	}{
		{releasetest.Good, ""},
		{releasetest.TamperZip, release.CheckChecksum},
		{releasetest.TamperSums, release.CheckSignature},
		{releasetest.WrongSigner, release.CheckSignature},
	} {
		t.Run(string(tc.tamper), func(t *testing.T) {
			dir := t.TempDir()
			if err := releasetest.Write(dir, "1.2.3", "amd64", payload, signer, tc.tamper); err != nil {
				t.Fatal(err)
			}
			base, stop, err := releasetest.Serve(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			src := &release.Source{BaseURL: base, Version: "1.2.3", OS: "linux", Arch: "amd64", Keyring: openpgp.EntityList{signer}}
			dest := filepath.Join(t.TempDir(), "vault")
			err = src.Fetch(context.Background(), t.TempDir(), dest)
			if tc.check == "" {
				if err != nil {
					t.Fatalf("Fetch(good release) = %v; want nil", err)
				}
				got, _ := os.ReadFile(dest)
				if string(got) != string(payload) {
					t.Fatalf("unpacked binary = %q; want %q", got, payload)
				}
				return
			}
			var re *release.Error
			if !errors.As(err, &re) || re.Check != tc.check {
				t.Fatalf("Fetch(%s) = %v; want a %s check failure", tc.tamper, err, tc.check)
			}
			if _, err := os.Stat(dest); !os.IsNotExist(err) {
				t.Fatalf("destination exists after a failed check: %v", err)
			}
		})
	}
}

func TestFetchRefusesPlainHTTPToOtherHosts(t *testing.T) {
	src := &release.Source{BaseURL: "http://example.com", Version: "1.2.3", Keyring: release.HashiCorpKeyring()}
	err := src.Fetch(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "vault"))
	if err == nil || !strings.Contains(err.Error(), "use https") {
		t.Fatalf("Fetch(http://example.com) = %v; want a refusal", err)
	}
}

func TestParseSums(t *testing.T) {
	good := strings.Repeat("a", 64) + "  vault_1_linux_amd64.zip\n" + strings.Repeat("B", 64) + " *other.zip\n\n"
	m, err := release.ParseSums([]byte(good))
	if err != nil {
		t.Fatalf("ParseSums(good) = %v", err)
	}
	if m["vault_1_linux_amd64.zip"] != strings.Repeat("a", 64) || m["other.zip"] != strings.Repeat("b", 64) {
		t.Fatalf("ParseSums(good) = %v", m)
	}
	for _, bad := range []string{
		"abc  file\n",
		strings.Repeat("g", 64) + "  file\n",
		strings.Repeat("a", 64) + "\n",
		strings.Repeat("a", 64) + "  ../etc/passwd\n",
		strings.Repeat("a", 64) + "  f\n" + strings.Repeat("b", 64) + "  f\n",
	} {
		if _, err := release.ParseSums([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("ParseSums(%q) = %v; want an error naming the line", bad, err)
		}
	}
}

func FuzzParseSums(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 64) + "  vault_1.21.1_linux_amd64.zip\n"))
	f.Add([]byte(strings.Repeat("0", 64) + " *x\r\n\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := release.ParseSums(data)
		if err != nil {
			return
		}
		for name, sum := range m {
			if len(sum) != 64 || name == "" || strings.ContainsAny(name, "/ ") {
				t.Fatalf("ParseSums accepted %q -> %q", name, sum)
			}
		}
	})
}
