package unseal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// Progress is what Submit reports (no share ever appears in it).
type Progress struct {
	Sealed    bool `json:"sealed"`
	Progress  int  `json:"progress"`
	Threshold int  `json:"threshold"`
	Submitted int  `json:"submitted"`
}

// Err is the fault a still-sealed server stands for (exit 4), or nil once
// it is unsealed.
func (p *Progress) Err() error {
	if !p.Sealed {
		return nil
	}
	return fault.Errorf(fault.Sealed, "still sealed: %d of %d shares submitted", p.Progress, p.Threshold)
}

// ReadShares reads key shares, one per line, from r. Blank lines and lines
// starting with # are skipped; a line that is neither hex nor base64 is an
// error naming its number (but never its content).
func ReadShares(r io.Reader, name string) ([]string, error) {
	var shares []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if len(s) < 16 || len(s) > 1024 || strings.IndexFunc(s, func(c rune) bool {
			return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '/' || c == '=')
		}) >= 0 {
			return nil, fmt.Errorf("%s line %d: not a key share (want hex or base64)", name, n)
		}
		shares = append(shares, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return shares, nil
}

// Submit submits shares until the server is unsealed or they run out.
func Submit(ctx context.Context, vc *vaultclient.Client, shares []string) (*Progress, error) {
	return SubmitMigrate(ctx, vc, shares, false)
}

// SubmitMigrate is Submit with migrate set on every share: the server was
// restarted with a changed seal (Shamir to transit, or back) and migrates
// once a threshold of the old seal's shares (unseal or recovery) is in.
func SubmitMigrate(ctx context.Context, vc *vaultclient.Client, shares []string, migrate bool) (*Progress, error) {
	res := &Progress{Sealed: true}
	ss, err := vc.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return nil, vaultclient.Classify(err, "reading seal status", "sys/seal-status")
	}
	res.Sealed, res.Progress, res.Threshold = ss.Sealed, ss.Progress, ss.T
	for _, s := range shares {
		if !res.Sealed {
			break
		}
		var ss *api.SealStatusResponse
		// A node joining a raft cluster takes shares only once its first
		// join attempt (every few seconds) is under way.
		deadline := time.Now().Add(15 * time.Second)
		for {
			ss, err = vc.Sys().UnsealWithOptionsWithContext(ctx, &api.UnsealOpts{Key: s, Migrate: migrate})
			err = vaultclient.Classify(err, "submitting key share", fmt.Sprintf("#%d", res.Submitted+1))
			if !fault.Is(err, fault.Uninitialized) || time.Now().After(deadline) {
				break
			}
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return res, err
			}
		}
		if err != nil {
			// Vault's message for a bad share does not echo it; keep it that way.
			return res, err
		}
		res.Submitted++
		res.Sealed, res.Progress, res.Threshold = ss.Sealed, ss.Progress, ss.T
	}
	// A joining node unseals only after the leader answered its challenge.
	for deadline := time.Now().Add(30 * time.Second); res.Sealed && res.Submitted > 0 && res.Progress == 0 && time.Now().Before(deadline); {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return res, err
		}
		if ss, err := vc.Sys().SealStatusWithContext(ctx); err == nil {
			res.Sealed, res.Progress = ss.Sealed, ss.Progress
		}
	}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
