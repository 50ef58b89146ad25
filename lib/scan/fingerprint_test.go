package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKeyer(t testing.TB) *Keyer {
	k, err := NewKeyer([]byte("test-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFingerprint(t *testing.T) {
	k := testKeyer(t)
	a := k.Sum("rule", "secret-one")
	if len(a) != 32 {
		t.Fatalf("Sum length = %d; want 32", len(a))
	}
	if b := k.Sum("rule", `  "secret-one" `); b != a {
		t.Errorf("quoted and blank-padded secret gave %s; want %s", b, a)
	}
	if b := k.Sum("rule", "secret-two"); b == a {
		t.Error("a different secret gave the same fingerprint")
	}
	if b := k.Sum("other", "secret-one"); b == a {
		t.Error("a different rule gave the same fingerprint")
	}
	k2, _ := NewKeyer([]byte("another-key-0123456789"))
	if b := k2.Sum("rule", "secret-one"); b == a {
		t.Error("a different key gave the same fingerprint")
	}
	if strings.Contains(a, "secret") {
		t.Error("fingerprint holds the secret")
	}
	pemLF := "-----BEGIN PRIVATE KEY-----\nMIIBVQ\nIBADAN\n-----END PRIVATE KEY-----"
	pemCRLF := strings.ReplaceAll(pemLF, "\n", "\r\n")
	pemEsc := strings.ReplaceAll(pemLF, "\n", `\n`)
	if k.Sum("r", pemLF) != k.Sum("r", pemCRLF) || k.Sum("r", pemLF) != k.Sum("r", pemEsc) {
		t.Error("PEM line endings or escapes changed the fingerprint")
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewKeyer([]byte("short")); err == nil {
		t.Error("NewKeyer accepted a 5-byte key")
	}
}

func TestLoadKeyFileCreates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "env-scan.key")
	k1, err := LoadKeyFile(p, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %o; want 600", fi.Mode().Perm())
	}
	k2, err := LoadKeyFile(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID() != k2.ID() {
		t.Error("reloading the key file gave another key")
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing"), false); err == nil {
		t.Error("a missing key file was accepted without create")
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	k := testKeyer(t)
	fs := []Finding{
		{File: "a.py", Line: 3, Rule: "r1", Fingerprint: k.Sum("r1", "s1")},
		{File: "b.py", Line: 9, Rule: "r1", Fingerprint: k.Sum("r1", "s2")},
	}
	p := filepath.Join(t.TempDir(), "baseline.json")
	if err := NewBaseline(k, fs[:1]).Write(p); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBaseline(p, k)
	if err != nil {
		t.Fatal(err)
	}
	down := fs[0]
	down.Line = 40 // moved within its file: still baselined
	pasted := fs[0]
	pasted.File = "app/settings.py" // the same secret in another file: new
	got, elsewhere := b.Filter([]Finding{down, pasted, fs[1]})
	if len(got) != 2 || got[0].File != "app/settings.py" || got[1].File != "b.py" || elsewhere != 1 {
		t.Errorf("Filter = %+v, %d elsewhere; want app/settings.py and b.py, 1 elsewhere", got, elsewhere)
	}
	// a file move is said explicitly
	if n := b.Move("a.py", "lib/a.py"); n != 1 {
		t.Errorf("Move moved %d entries; want 1", n)
	}
	movedFile := fs[0]
	movedFile.File = "lib/a.py"
	if got, _ := b.Filter([]Finding{movedFile}); len(got) != 0 {
		t.Errorf("after Move, Filter = %+v; want nothing", got)
	}
	if n := b.Move("lib", "src/lib"); n != 1 || b.Entries[0].File != "src/lib/a.py" {
		t.Errorf("directory Move = %d, %+v", n, b.Entries)
	}
	other, _ := NewKeyer([]byte("another-key-0123456789"))
	if _, err := LoadBaseline(p, other); err == nil || !strings.Contains(err.Error(), "another fingerprint key") {
		t.Errorf("LoadBaseline with another key: err = %v", err)
	}
}

func FuzzLoadBaseline(f *testing.F) {
	k, _ := NewKeyer([]byte("test-key-0123456789abcdef"))
	f.Add([]byte(`{"version":1,"key_id":"` + k.ID() + `","findings":[{"fingerprint":"ab","rule":"r","file":"f"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "b.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := LoadBaseline(p, k)
		if err != nil {
			return
		}
		if b.Version != baselineVersion || b.KeyID != k.ID() {
			t.Fatalf("accepted baseline %+v", b)
		}
		b.Filter([]Finding{{Fingerprint: "ab"}})
	})
}

// A version 1 baseline (matched by fingerprint only) is read as version 2:
// its entries now match their own file only.
func TestBaselineVersion1Migrated(t *testing.T) {
	k := testKeyer(t)
	fp := k.Sum("r1", "s1")
	p := filepath.Join(t.TempDir(), "v1.json")
	os.WriteFile(p, []byte(`{"version":1,"key_id":"`+k.ID()+`","findings":[{"fingerprint":"`+fp+`","rule":"r1","file":"tests/fixture.py"}]}`), 0o600)
	b, err := LoadBaseline(p, k)
	if err != nil {
		t.Fatal(err)
	}
	if b.Migrated != 1 || b.Version != baselineVersion {
		t.Errorf("Migrated = %d, Version = %d", b.Migrated, b.Version)
	}
	got, _ := b.Filter([]Finding{{File: "tests/fixture.py", Fingerprint: fp}, {File: "app/settings.py", Fingerprint: fp}})
	if len(got) != 1 || got[0].File != "app/settings.py" {
		t.Errorf("Filter = %+v; want app/settings.py only", got)
	}
	os.WriteFile(p, []byte(`{"version":3,"key_id":"`+k.ID()+`","findings":[]}`), 0o600)
	if _, err := LoadBaseline(p, k); err == nil || !strings.Contains(err.Error(), "version 3 is not supported") {
		t.Errorf("version 3: err = %v", err)
	}
}
