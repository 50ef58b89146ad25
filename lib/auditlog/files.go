package auditlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// setFiles matches the file names of the log set called name: NAME.log,
// logrotate's NAME.log.N, and NAME-<date>.log archives (ours, and others'
// date formats), each maybe .gz or .zst.
func setFiles(name string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(\.log(\.[0-9]+)?|-[0-9]{8}[0-9TZ.]*\.log)(\.gz|\.zst)?$`)
}

// LogFiles lists the regular files of dir that belong to the log set
// called name (see setFiles), in directory order; Order sorts them.
func LogFiles(dir, name string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading", dir, errors.Unwrap(err))
	}
	re := setFiles(name)
	var files []string
	for _, e := range ents {
		if e.Type().IsRegular() && re.MatchString(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// Hash asks Vault for value's HMAC under the audit device's key
// (sys/audit-hash/<device>): the form in which the value appears in that
// device's log. The value goes in the request body only.
func Hash(ctx context.Context, vc *vaultclient.Client, device, value string) (string, error) {
	p := "sys/audit-hash/" + device
	s, err := vc.Logical().WriteWithContext(ctx, p, map[string]any{"input": value})
	if err != nil {
		return "", vc.Classify(err, "hashing the value with audit device", p)
	}
	var h string
	if s != nil {
		h, _ = s.Data["hash"].(string)
	}
	if h == "" {
		return "", fault.Errorf(fault.Server, "%s returned no hash", p)
	}
	return h, nil
}
