package install

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// servicePlan says what systemd must do: enable and start the unit, or
// restart it after its files changed.
func (r *Runner) servicePlan(ctx context.Context, filesChanged bool) *Change {
	active := r.systemctl(ctx, "is-active", "--quiet", "vault.service") == nil
	enabled := r.systemctl(ctx, "is-enabled", "--quiet", "vault.service") == nil
	switch {
	case !active || !enabled:
		return &Change{Step: "service", Action: "start", Path: Layout.Unit, Detail: "systemctl enable --now vault"}
	case filesChanged:
		return &Change{Step: "service", Action: "restart", Path: Layout.Unit, Detail: "files changed; vault comes back sealed"}
	}
	return nil
}

func (r *Runner) serviceApply(ctx context.Context, action string) error {
	if err := r.systemctl(ctx, "daemon-reload"); err != nil {
		return err
	}
	if action == "restart" {
		return r.systemctl(ctx, "restart", "vault.service")
	}
	return r.systemctl(ctx, "enable", "--now", "vault.service")
}

func (r *Runner) systemctl(ctx context.Context, args ...string) error {
	if r.Systemctl != nil {
		return r.Systemctl(ctx, args...)
	}
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
