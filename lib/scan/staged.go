package scan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// StagedSources lists the files added, copied, modified or renamed in the
// git index of the repository containing dir, reading their staged content
// (not the working tree's). Paths are relative to the repository root,
// which is returned first.
func StagedSources(ctx context.Context, dir string) (string, []Source, error) {
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", nil, fault.New(fault.Usage, "--staged", "", fmt.Errorf("not in a git repository: %w", err))
	}
	root := strings.TrimSpace(string(top))
	out, err := git(ctx, root, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR")
	if err != nil {
		return "", nil, err
	}
	var srcs []Source
	for _, p := range strings.Split(string(out), "\x00") {
		if p == "" {
			continue
		}
		p := p
		srcs = append(srcs, Source{Path: p, Open: func() (io.ReadCloser, error) {
			b, err := git(ctx, root, "cat-file", "blob", ":"+p)
			if err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		}})
	}
	rel, err := filepath.Rel(".", root)
	if err != nil {
		rel = root
	}
	return rel, srcs, nil
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}
