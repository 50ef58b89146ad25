package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// owner is who owns Vault's files; nil when ownership is not managed.
type owner struct{ uid, gid int }

// owner looks up (and on a real host creates) the system user.
func (o *Options) owner() (*owner, error) {
	if !o.realHost() || os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(o.User)
	if err != nil {
		return nil, fmt.Errorf("looking up user %s: %w", o.User, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &owner{uid, gid}, nil
}

// userPlan says whether the system user must be created.
func (o *Options) userPlan() *Change {
	if !o.realHost() || os.Geteuid() != 0 {
		return nil
	}
	if _, err := user.Lookup(o.User); err == nil {
		return nil
	}
	return &Change{Step: "user", Action: "create", Detail: "system user " + o.User + " (no login shell)"}
}

func (o *Options) createUser(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--home-dir", Layout.ConfigDir,
		"--no-create-home", "--shell", "/usr/sbin/nologin", o.User).CombinedOutput()
	if err != nil {
		return fmt.Errorf("useradd %s: %v: %s", o.User, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ownerIDs turns "vault", "root" or "root:vault" (root's file that Vault's
// group reads but cannot rewrite or replace) into a uid and gid.
func ownerIDs(own *owner, who string) (uid, gid int) {
	switch who {
	case "vault":
		return own.uid, own.gid
	case "root:vault":
		return 0, own.gid
	}
	return 0, 0
}
