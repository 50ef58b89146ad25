# admin: the human operator of this Vault, after vault-install has revoked
# the root token. Broad on secrets and on the access-control objects this
# project manages (so vault-policy sync and check run as admin), but sudo
# only on the exact root-protected endpoints needed — never on a * or + glob —
# and no raw storage, no seal-wrap or plugin catalogue, no replication.
# Emergencies beyond this go through generate-root (docs/runbooks).

# --- Secrets -------------------------------------------------------------

path "secret/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

path "database/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

# --- Policies and AppRoles (vault-policy sync, issue, check) --------------

path "sys/policies/acl" {
  capabilities = ["list"]
}

path "sys/policies/acl/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

path "auth/approle/role" {
  capabilities = ["list"]
}

path "auth/approle/role/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Auth methods are root-protected, hence sudo — on the one method this
# project uses. Enabling another is a change to this file, reviewed.
path "sys/auth" {
  capabilities = ["read"]
}

path "sys/auth/approle" {
  capabilities = ["create", "read", "update", "delete", "sudo"]
}

path "sys/auth/approle/tune" {
  capabilities = ["read", "update", "sudo"]
}

# Tokens for people and for vault-policy check's policy-only identities.
path "auth/token/create" {
  capabilities = ["create", "update"]
}

path "auth/token/lookup" {
  capabilities = ["update"]
}

path "auth/token/lookup-accessor" {
  capabilities = ["update"]
}

path "auth/token/revoke" {
  capabilities = ["update"]
}

path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}

path "sys/capabilities" {
  capabilities = ["update"]
}

path "sys/capabilities-accessor" {
  capabilities = ["update"]
}

# --- Secrets engines -----------------------------------------------------

path "sys/mounts" {
  capabilities = ["read"]
}

path "sys/mounts/+" {
  capabilities = ["create", "read", "update", "delete"]
}

path "sys/mounts/+/tune" {
  capabilities = ["read", "update"]
}

# --- Audit (root-protected) ----------------------------------------------

path "sys/audit" {
  capabilities = ["read", "sudo"]
}

# The two file devices vault-install enables (Vault blocks every request
# when its only audit device fails, hence two).
path "sys/audit/file" {
  capabilities = ["create", "update", "delete", "sudo"]
}

path "sys/audit/file-secondary" {
  capabilities = ["create", "update", "delete", "sudo"]
}

path "sys/audit-hash/+" {
  capabilities = ["update"]
}

# --- Raft storage: snapshots, restore, membership ------------------------

path "sys/storage/raft/snapshot" {
  capabilities = ["read", "update"]
}

path "sys/storage/raft/snapshot-force" {
  capabilities = ["update"]
}

path "sys/storage/raft/configuration" {
  capabilities = ["read"]
}

path "sys/storage/raft/remove-peer" {
  capabilities = ["update"]
}

# --- Leases and server state ---------------------------------------------

path "sys/leases/lookup" {
  capabilities = ["update"]
}

path "sys/leases/revoke" {
  capabilities = ["update"]
}

path "sys/seal-status" {
  capabilities = ["read"]
}

# Sealing is an emergency brake; Vault requires sudo for it.
path "sys/seal" {
  capabilities = ["update", "sudo"]
}
