package vaultclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// Read reads path. A missing path is a NotFound error, not a nil secret.
func (c *Client) Read(ctx context.Context, path string) (*api.Secret, error) {
	s, err := c.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return nil, c.Classify(err, "reading", path)
	}
	if s == nil {
		return nil, fault.New(fault.NotFound, "reading", path, errors.New("not found"))
	}
	return s, nil
}

// Write writes data to path.
func (c *Client) Write(ctx context.Context, path string, data map[string]any) (*api.Secret, error) {
	s, err := c.Logical().WriteWithContext(ctx, path, data)
	return s, c.Classify(err, "writing", path)
}

// Delete deletes path.
func (c *Client) Delete(ctx context.Context, path string) error {
	_, err := c.Logical().DeleteWithContext(ctx, path)
	return c.Classify(err, "deleting", path)
}

// List lists the keys under path; a missing path gives no keys.
func (c *Client) List(ctx context.Context, path string) ([]string, error) {
	s, err := c.Logical().ListWithContext(ctx, path)
	if err != nil {
		return nil, c.Classify(err, "listing", path)
	}
	if s == nil || s.Data == nil {
		return nil, nil
	}
	raw, _ := s.Data["keys"].([]any)
	keys := make([]string, 0, len(raw))
	for _, k := range raw {
		if ks, ok := k.(string); ok {
			keys = append(keys, ks)
		}
	}
	return keys, nil
}

// KV is a KV version 2 secrets engine mounted at Mount.
type KV struct {
	c     *Client
	Mount string
}

// KV returns the KV v2 engine mounted at mount ("secret" when empty).
func (c *Client) KV(mount string) *KV {
	mount = strings.Trim(mount, "/")
	if mount == "" {
		mount = "secret"
	}
	return &KV{c: c, Mount: mount}
}

// Secret is one version of a KV v2 secret.
type Secret struct {
	Path           string
	Data           map[string]any
	Version        int
	CreatedTime    time.Time
	CustomMetadata map[string]string
}

func (kv *KV) logical(kind, path string) string {
	return kv.Mount + "/" + kind + "/" + strings.Trim(path, "/")
}

// Get reads version (0 = current) of path. A deleted or destroyed version
// is NotFound.
func (kv *KV) Get(ctx context.Context, path string, version int) (*Secret, error) {
	var (
		s   *api.KVSecret
		err error
	)
	op := kv.logical("data", path)
	if version > 0 {
		s, err = kv.c.KVv2(kv.Mount).GetVersion(ctx, path, version)
	} else {
		s, err = kv.c.KVv2(kv.Mount).Get(ctx, path)
	}
	if err != nil {
		return nil, kv.c.Classify(err, "reading secret", op)
	}
	if s == nil || s.Data == nil {
		return nil, fault.New(fault.NotFound, "reading secret", op, errors.New("version deleted or destroyed"))
	}
	out := &Secret{Path: path, Data: s.Data, CustomMetadata: map[string]string{}}
	if s.VersionMetadata != nil {
		out.Version = s.VersionMetadata.Version
		out.CreatedTime = s.VersionMetadata.CreatedTime
	}
	for k, v := range s.CustomMetadata {
		out.CustomMetadata[k] = fmt.Sprint(v)
	}
	return out, nil
}

// NoCAS writes without a check-and-set constraint.
const NoCAS = -1

// Put writes data as a new version of path. cas is the version the caller
// expects to be current (0: the path must not exist yet; NoCAS: no check).
// A mismatch is a Conflict error. It returns the new version.
func (kv *KV) Put(ctx context.Context, path string, data map[string]any, cas int) (int, error) {
	var opts []api.KVOption
	if cas >= 0 {
		opts = append(opts, api.WithCheckAndSet(cas))
	}
	s, err := kv.c.KVv2(kv.Mount).Put(ctx, path, data, opts...)
	if err != nil {
		return 0, kv.c.Classify(err, "writing secret", kv.logical("data", path))
	}
	if s == nil || s.VersionMetadata == nil {
		return 0, nil
	}
	return s.VersionMetadata.Version, nil
}

// Metadata is the metadata of a KV v2 path.
type Metadata struct {
	Path           string
	CurrentVersion int
	OldestVersion  int
	CreatedTime    time.Time
	UpdatedTime    time.Time
	CustomMetadata map[string]string
	Versions       []Version
}

// Version describes one version of a path.
type Version struct {
	Version      int
	CreatedTime  time.Time
	DeletionTime time.Time
	Destroyed    bool
}

// Metadata reads the metadata of path.
func (kv *KV) Metadata(ctx context.Context, path string) (*Metadata, error) {
	m, err := kv.c.KVv2(kv.Mount).GetMetadata(ctx, path)
	if err != nil {
		return nil, kv.c.Classify(err, "reading metadata of", kv.logical("metadata", path))
	}
	out := &Metadata{
		Path:           path,
		CurrentVersion: m.CurrentVersion,
		OldestVersion:  m.OldestVersion,
		CreatedTime:    m.CreatedTime,
		UpdatedTime:    m.UpdatedTime,
		CustomMetadata: map[string]string{},
	}
	for k, v := range m.CustomMetadata {
		out.CustomMetadata[k] = fmt.Sprint(v)
	}
	vs, err := kv.c.KVv2(kv.Mount).GetVersionsAsList(ctx, path)
	if err != nil {
		return nil, kv.c.Classify(err, "reading versions of", kv.logical("metadata", path))
	}
	for _, v := range vs {
		out.Versions = append(out.Versions, Version{Version: v.Version, CreatedTime: v.CreatedTime, DeletionTime: v.DeletionTime, Destroyed: v.Destroyed})
	}
	return out, nil
}

// PatchCustomMetadata merges custom into path's custom_metadata.
func (kv *KV) PatchCustomMetadata(ctx context.Context, path string, custom map[string]string) error {
	m := make(map[string]any, len(custom))
	for k, v := range custom {
		m[k] = v
	}
	err := kv.c.KVv2(kv.Mount).PatchMetadata(ctx, path, api.KVMetadataPatchInput{CustomMetadata: m})
	return kv.c.Classify(err, "writing metadata of", kv.logical("metadata", path))
}

// List lists the keys directly under path ("" for the mount's root).
func (kv *KV) List(ctx context.Context, path string) ([]string, error) {
	return kv.c.List(ctx, strings.TrimSuffix(kv.logical("metadata", path), "/"))
}

// Int reads a number as Vault's JSON answers give it (json.Number, float64,
// int, or a decimal string); anything else is 0.
func Int(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case float64:
		return int(x)
	case int:
		return x
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}
