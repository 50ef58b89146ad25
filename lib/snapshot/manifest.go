package snapshot

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Format marks a manifest written by vault-snap; prune deletes only files
// whose manifest carries it.
const Format = "vault-snap/1"

// Ext is the extension of a snapshot file, ManifestExt that of its
// manifest (beside it: NAME.snap.json), AgeExt that of its age-encrypted copy.
const (
	Ext         = ".snap"
	ManifestExt = ".json"
	AgeExt      = ".age"
)

// Manifest describes one saved snapshot. It is written beside the file
// after the file is complete, so a snapshot without a manifest was never
// finished.
type Manifest struct {
	Format       string    `json:"format"`
	File         string    `json:"file"`
	CreatedAt    time.Time `json:"created_at"`
	VaultVersion string    `json:"vault_version"`
	ClusterID    string    `json:"cluster_id"`
	ClusterName  string    `json:"cluster_name"`
	// SealShares and SealThreshold are the cluster's Shamir split: a server
	// the snapshot is restored into unseals with a threshold of its shares.
	SealShares    int `json:"seal_shares,omitempty"`
	SealThreshold int `json:"seal_threshold,omitempty"`
	// RaftPeers is the cluster's membership when the snapshot was taken
	// (sys/storage/raft/configuration), when the token may read it.
	RaftPeers []RaftPeer `json:"raft_peers,omitempty"`
	RaftIndex uint64     `json:"raft_index"`
	RaftTerm  uint64     `json:"raft_term"`
	RaftID    string     `json:"raft_snapshot_id"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256"`
	// SHA256Sums are the lines of the archive's own SHA256SUMS.
	SHA256Sums []string `json:"sha256sums"`
	Members    []Member `json:"members"`
	// KVCounts holds the number of secrets per KV mount ("secret/": 120),
	// counted by listing each KV mount's keys recursively just before and
	// after the snapshot was taken; nil when that was not possible (see
	// KVCountsNote) or the counts moved in between.
	KVCounts     map[string]int `json:"kv_counts,omitempty"`
	KVCountsNote string         `json:"kv_counts_note,omitempty"`
	Age          *AgeCopy       `json:"age,omitempty"`
	// Verified is set by verify: the last time the file passed.
	Verified *time.Time `json:"verified_at,omitempty"`
}

// RaftPeer is one member of the raft cluster.
type RaftPeer struct {
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	Leader  bool   `json:"leader"`
	Voter   bool   `json:"voter"`
}

// AgeCopy describes the age-encrypted copy written beside the snapshot.
type AgeCopy struct {
	File       string   `json:"file"`
	Size       int64    `json:"size"`
	SHA256     string   `json:"sha256"`
	Recipients []string `json:"recipients"`
}

// ManifestPath returns the manifest path of snapshot file path (for an
// age copy NAME.snap.age, that of NAME.snap).
func ManifestPath(path string) string {
	return strings.TrimSuffix(path, AgeExt) + ManifestExt
}

// maxManifest caps a manifest, read whole: real ones are about 1 KiB.
const maxManifest = 1 << 20

// ReadManifest reads and checks a manifest.
func ReadManifest(path string) (*Manifest, error) {
	b, err := safefile.Read(path, maxManifest)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%s: format %q, not %q: not a manifest vault-snap wrote", path, m.Format, Format)
	}
	if m.File == "" || filepath.Base(m.File) != m.File || len(m.SHA256) != 64 {
		return nil, fmt.Errorf("%s: no file name or sha256", path)
	}
	return &m, nil
}

// WriteManifest writes m atomically (0600) to path.
func WriteManifest(path string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return safefile.Write(path, append(b, '\n'), 0o600)
}

// MarkVerified records in the manifest that its file passed verify at t.
func MarkVerified(manifestPath string, t time.Time) error {
	m, err := ReadManifest(manifestPath)
	if err != nil {
		return err
	}
	t = t.UTC()
	m.Verified = &t
	return WriteManifest(manifestPath, m)
}
