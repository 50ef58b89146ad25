# policy-sync: the one identity that changes access control (AppRole
# approles/policy-sync.hcl). `vault-policy sync` runs as it, from a reviewed
# checkout of policies/ (main, after review), and so do `vault-policy check`
# (it issues a secret_id per identity, logs in, and destroys the secret_id)
# and `vault-policy issue` for admin's own credentials.
#
# ROOT-EQUIVALENT: whoever can write ACL policies can write themselves
# path "*" with sudo. That is why nobody else may (not admin), why its
# secret_ids live a day and log in a few times, and why policies/README.md
# lists it with root. It reads no secrets, mounts nothing, and touches no
# audit device — a policy that did would be a reviewed diff of this file.

# ACL policies (sync writes, --prune deletes; root and default are built in).
path "sys/policies/acl" {
  capabilities = ["list"]
}

path "sys/policies/acl/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# AppRoles: roles, role_ids, secret_ids (issue, check) and their destruction.
path "auth/approle/role" {
  capabilities = ["list"]
}

path "auth/approle/role/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Sync enables AppRole auth on a server without it (auth paths are
# root-protected, hence sudo — on this one method only).
path "sys/auth" {
  capabilities = ["read"]
}

path "sys/auth/approle" {
  capabilities = ["create", "read", "update", "sudo"]
}
