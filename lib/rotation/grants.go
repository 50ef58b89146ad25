package rotation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/hcldiag"
	"github.com/vaultpipe/vaultpipe/lib/policy"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// CheckWritable reports, as file:line:col errors, every rule whose paths the
// rotator's ACL policy does not let it write: the secret itself and its
// staging record (create, update), and for databases the static roles
// (create, update) and rotate-role (update).
func (pol *Policy) CheckWritable(acl *policy.ACL) error {
	p := &parser{hcldiag.List{File: pol.File}}
	need := func(pos hcl.Pos, owner, vpath string, caps ...string) {
		if missing := acl.Missing(vpath, caps...); len(missing) > 0 {
			p.Addf(pos, "%s: policy %s (%s) does not grant %s on %s", owner, acl.Name, acl.File, strings.Join(missing, ", "), vpath)
		}
	}
	for _, r := range pol.Secrets {
		concrete := strings.ReplaceAll(r.Path, "*", "x")
		owner := fmt.Sprintf("secret %q", r.Path)
		need(r.Pos, owner, pol.Mount+"/data/"+concrete, "create", "update", "read")
		need(r.Pos, owner, pol.Mount+"/data/"+StagingPrefix+concrete, "create", "update", "read")
		need(r.Pos, owner, pol.Mount+"/metadata/"+concrete, "read", "patch")
	}
	for _, d := range pol.Databases {
		owner := fmt.Sprintf("database %q", d.Name)
		for _, role := range d.Roles() {
			// Creating a role also needs create, pinned to its user in the
			// rotator's policy; an admin may create it instead.
			need(d.Pos, owner, d.Mount+"/static-roles/"+role, "update", "read")
			need(d.Pos, owner, d.Mount+"/rotate-role/"+role, "update")
			need(d.Pos, owner, d.Mount+"/static-creds/"+role, "read")
		}
		if d.Path != "" {
			need(d.Pos, owner, pol.Mount+"/data/"+d.Path, "create", "update", "read")
		}
	}
	return p.Err()
}

// CheckRotatorPolicy checks pol against the rotator's ACL policy,
// dir/acl/<rotator>.hcl, as CheckWritable does.
func (pol *Policy) CheckRotatorPolicy(dir, rotator string) error {
	file := filepath.Join(dir, "acl", rotator+".hcl")
	src, err := safefile.Read(file, policy.MaxFileSize)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fault.New(fault.Usage, "reading the rotator's policy", file, errors.New("no such file (set --policies)"))
		}
		return fault.New(fault.BadInput, "reading", file, errors.Unwrap(err))
	}
	acl, err := policy.ParseACL(file, src)
	if err != nil {
		return err
	}
	return pol.CheckWritable(acl)
}
