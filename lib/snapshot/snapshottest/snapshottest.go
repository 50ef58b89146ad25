// Package snapshottest writes synthetic Vault raft snapshots for tests and
// benchmarks: the same gzip+tar layout Vault produces (meta.json,
// state.bin, SHA256SUMS, SHA256SUMS.sealed), with random state.
package snapshottest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// Write writes a synthetic snapshot whose state.bin holds stateSize
// pseudo-random bytes from seed, at raft index and term.
func Write(w io.Writer, stateSize int64, seed uint64, index, term uint64) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	now := time.Unix(1700000000, 0)
	meta, _ := json.Marshal(map[string]any{
		"Version": 1, "ID": fmt.Sprintf("%d-%d-synthetic", term, index), "Index": index, "Term": term,
		"Peers": "", "Configuration": map[string]any{"Servers": []any{}}, "ConfigurationIndex": 1, "Size": stateSize,
	})
	meta = append(meta, '\n')
	var sums bytes.Buffer
	add := func(name string, body io.Reader, size int64) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: now}); err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.CopyN(io.MultiWriter(tw, h), body, size); err != nil {
			return err
		}
		if name == "meta.json" || name == "state.bin" {
			fmt.Fprintf(&sums, "%x  %s\n", h.Sum(nil), name)
		}
		return nil
	}
	if err := add("meta.json", bytes.NewReader(meta), int64(len(meta))); err != nil {
		return err
	}
	if err := add("state.bin", &random{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}, stateSize); err != nil {
		return err
	}
	s := sums.Bytes()
	if err := add("SHA256SUMS", bytes.NewReader(s), int64(len(s))); err != nil {
		return err
	}
	sealed := append([]byte("sealed:"), s...)
	if err := add("SHA256SUMS.sealed", bytes.NewReader(sealed), int64(len(sealed))); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// Bytes returns a synthetic snapshot as a byte slice.
func Bytes(stateSize int64, seed uint64) []byte {
	var b bytes.Buffer
	if err := Write(&b, stateSize, seed, 42, 3); err != nil {
		panic(err)
	}
	return b.Bytes()
}

type random struct{ r *rand.Rand }

func (r *random) Read(p []byte) (int, error) {
	for i := 0; i+8 <= len(p); i += 8 {
		v := r.r.Uint64()
		for j := 0; j < 8; j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	for i := len(p) &^ 7; i < len(p); i++ {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}
