package snapshot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/snapshot"
	"github.com/vaultpipe/vaultpipe/lib/snapshot/snapshottest"
)

func TestReadArchive(t *testing.T) {
	good := snapshottest.Bytes(100<<10, 1)
	a, err := snapshot.ReadArchive(bytes.NewReader(good))
	if err != nil {
		t.Fatalf("ReadArchive(good) = %v", err)
	}
	if a.Meta.Index != 42 || a.Meta.Term != 3 || !a.Sealed || len(a.Sums) != 2 {
		t.Fatalf("ReadArchive(good) = %+v; want index 42, term 3, sealed, 2 sums", a)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "truncated"},
		{"truncated trailer", good[:len(good)-4], ""},
		{"flipped byte", flipped, ""},
		{"empty", nil, "gzip header"},
		{"not gzip", []byte("hello, this is not a snapshot"), "gzip header"},
		{"trailing garbage", append(bytes.Clone(good), "xx"...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := snapshot.ReadArchive(bytes.NewReader(tc.data))
			var ce *snapshot.CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("ReadArchive(%s) = %v; want a CorruptError", tc.name, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadArchive(%s) = %v; want it to mention %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestParseSums(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{sum + "  meta.json\n" + sum + "  state.bin\n", true},
		{sum + " meta.json\n", false},
		{sum[:60] + "  meta.json\n", false},
		{strings.Repeat("zz", 32) + "  meta.json\n", false},
		{sum + "  ../etc/passwd\n", false},
		{sum + "  a\n" + sum + "  a\n", false},
	} {
		_, err := snapshot.ParseSums([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("ParseSums(%q) = %v; want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func FuzzReadArchive(f *testing.F) {
	good := snapshottest.Bytes(4<<10, 2)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := snapshot.ReadArchive(bytes.NewReader(data))
		if err != nil {
			var ce *snapshot.CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("ReadArchive error %v is not a CorruptError", err)
			}
			return
		}
		// Whatever it accepts has members that match its own sums.
		for _, m := range a.Members {
			if want, ok := a.Sums[m.Name]; ok && want != m.SHA256 {
				t.Fatalf("accepted %s with SHA-256 %s, sums say %s", m.Name, m.SHA256, want)
			}
		}
		if a.Sums["meta.json"] == "" || a.Sums["state.bin"] == "" {
			t.Fatalf("accepted an archive without sums for meta.json and state.bin")
		}
	})
}

// writeSnapshot writes data as a snapshot file with the manifest save would
// write, and returns its path.
func writeSnapshot(t *testing.T, dir, name string, data []byte, created time.Time) string {
	t.Helper()
	a, err := snapshot.ReadArchive(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	m := &snapshot.Manifest{
		Format: snapshot.Format, File: name, CreatedAt: created, ClusterID: "c1",
		RaftIndex: a.Meta.Index, RaftTerm: a.Meta.Term, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		SHA256Sums: snapshot.SortedSums(a.Sums), Members: a.Members,
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := snapshot.WriteManifest(snapshot.ManifestPath(p), m); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	good := snapshottest.Bytes(64<<10, 3)
	p := writeSnapshot(t, dir, "vault-1.snap", good, time.Now())
	rep, m, err := snapshot.Verify(p, snapshot.VerifyOptions{})
	if err != nil || !rep.OK || !rep.ContentsChecked || m.RaftIndex != 42 {
		t.Fatalf("Verify(good) = %+v, %v", rep, err)
	}

	for _, tc := range []struct {
		name   string
		mangle func([]byte) []byte
		want   string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }, "truncated"},
		{"corrupted", func(b []byte) []byte { b = bytes.Clone(b); b[len(b)/3] ^= 1; return b }, "not an intact snapshot"},
		{"replaced by another good snapshot", func([]byte) []byte { return snapshottest.Bytes(64<<10, 4) }, "the manifest says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := writeSnapshot(t, dir, "vault-"+strings.ReplaceAll(tc.name, " ", "-")+".snap", good, time.Now())
			if err := os.WriteFile(q, tc.mangle(good), 0o600); err != nil {
				t.Fatal(err)
			}
			rep, _, err := snapshot.Verify(q, snapshot.VerifyOptions{})
			if !fault.Is(err, fault.BadInput) || rep.OK || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify(%s) = %+v, %v; want a BadInput error mentioning %q", tc.name, rep, err, tc.want)
			}
			if !strings.Contains(err.Error(), q) {
				t.Fatalf("Verify(%s) error %q does not name the file", tc.name, err)
			}
		})
	}

	t.Run("no manifest", func(t *testing.T) {
		q := filepath.Join(dir, "stray.snap")
		os.WriteFile(q, good, 0o600)
		_, _, err := snapshot.Verify(q, snapshot.VerifyOptions{})
		if !fault.Is(err, fault.BadInput) || !strings.Contains(err.Error(), "no manifest") {
			t.Fatalf("Verify(no manifest) = %v", err)
		}
	})
}
