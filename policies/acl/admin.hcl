# admin: the human operator of this Vault (AppRole approles/admin.hcl; its
# secret_ids are issued by policy-sync, short-lived). It operates the server —
# secrets, mounts, auth tuning, leases, rekey, encryption-key rotation,
# metrics, taking snapshots — but it is not root-equivalent:
#
#   - it cannot write ACL policies or AppRoles (that is policy-sync's job,
#     from a reviewed checkout of policies/), so it cannot widen its own
#     policy or make a role carrying another;
#   - it cannot create tokens (no auth/token/create, no orphans): its own
#     token, from its AppRole login, is all it gets;
#   - it cannot enable, disable or reconfigure audit devices (log_raw), nor
#     tune a mount to leave fields un-HMAC'd in the audit log: that needs a
#     root token from the generate-root quorum;
#   - it cannot destroy secret versions or delete a secret's metadata (all
#     its history), nor unmount secret/;
#   - it cannot restore a snapshot (sys/storage/raft/snapshot update, nor
#     snapshot-force): a restore rolls back history, revives spent
#     secret_ids and revoked tokens, and a foreign cluster's snapshot hands
#     the server to that cluster's root token with no audit device left.
#     Restoring is break-glass: a root token from the generate-root quorum.
#
# sudo only on exact root-protected endpoints, never on a glob.

# --- Secrets -------------------------------------------------------------

# Read and write values; deleting a version is a soft delete (undelete).
path "secret/data/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

path "secret/delete/*" {
  capabilities = ["update"]
}

path "secret/undelete/*" {
  capabilities = ["update"]
}

# Metadata: read, list, and stage labels; not max_versions or
# delete_version_after (which prune history), not delete (which erases it).
path "secret/metadata/*" {
  capabilities = ["read", "list", "patch"]
  allowed_parameters = {
    "custom_metadata" = []
  }
}

# The engine's settings (cas_required, max_versions) are set at bootstrap.
path "secret/config" {
  capabilities = ["read"]
}

path "database/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

# --- Policies and AppRoles: read only --------------------------------------

path "sys/policies/acl" {
  capabilities = ["list"]
}

path "sys/policies/acl/*" {
  capabilities = ["read", "list"]
}

path "auth/approle/role" {
  capabilities = ["list"]
}

path "auth/approle/role/*" {
  capabilities = ["read", "list"]
}

# Re-issuing the machine identities' secret_ids (the documented step in
# policies/README.md) and listing their accessors — by exact role, never
# policy-sync's or its own.
path "auth/approle/role/rotator/secret-id" {
  capabilities = ["update", "list"]
}

path "auth/approle/role/snapshot/secret-id" {
  capabilities = ["update", "list"]
}

path "auth/approle/role/dagster-analytics/secret-id" {
  capabilities = ["update", "list"]
}

path "auth/approle/role/importer/secret-id" {
  capabilities = ["update", "list"]
}

path "auth/approle/role/auditor/secret-id" {
  capabilities = ["update", "list"]
}

path "auth/approle/role/prometheus/secret-id" {
  capabilities = ["update", "list"]
}

# The broker's bootstrap login (vault-policy issue broker --wrap-ttl 10m):
# it mints only for roles admin may mint for anyway.
path "auth/approle/role/broker/secret-id" {
  capabilities = ["update", "list"]
}

# Revoking any secret_id is always allowed: it only takes access away.
path "auth/approle/role/+/secret-id-accessor/lookup" {
  capabilities = ["update"]
}

path "auth/approle/role/+/secret-id-accessor/destroy" {
  capabilities = ["update"]
}

# --- Auth methods: tuning only ---------------------------------------------

path "sys/auth" {
  capabilities = ["read"]
}

# Lease TTLs and listing only: audit_non_hmac_request_keys would write
# secret_ids into the audit log in clear, a quieter log_raw.
path "sys/auth/approle/tune" {
  capabilities = ["read", "update", "sudo"]
  allowed_parameters = {
    "default_lease_ttl"  = []
    "max_lease_ttl"      = []
    "description"        = []
    "listing_visibility" = []
  }
}

# --- Tokens: look up and revoke, never create --------------------------------

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

# A new engine's config (and with it audit_non_hmac_* keys) is set by tune.
path "sys/mounts/+" {
  capabilities = ["create", "read", "update", "delete"]
  denied_parameters = {
    "config" = []
  }
}

# The KV mount holds every secret and its history: never unmounted by admin.
path "sys/mounts/secret" {
  capabilities = ["read"]
}

# As for auth: never audit_non_hmac_response_keys, which would write secret
# values into the audit log in clear.
path "sys/mounts/+/tune" {
  capabilities = ["read", "update"]
  allowed_parameters = {
    "default_lease_ttl"  = []
    "max_lease_ttl"      = []
    "description"        = []
    "listing_visibility" = []
  }
}

# --- Audit: see, never change ----------------------------------------------

# Listing devices is root-protected: sudo on this one path. Enabling,
# disabling and reconfiguring (sys/audit/<name>) need the root quorum.
path "sys/audit" {
  capabilities = ["read", "sudo"]
}

path "sys/audit-hash/+" {
  capabilities = ["update"]
}

path "sys/config/auditing/request-headers" {
  capabilities = ["read", "sudo"]
}

# --- Raft storage: snapshots (taking, not restoring), membership ---------

# read only: update on this path is a same-cluster restore.
path "sys/storage/raft/snapshot" {
  capabilities = ["read"]
}

path "sys/storage/raft/configuration" {
  capabilities = ["read"]
}

path "sys/storage/raft/remove-peer" {
  capabilities = ["update"]
}

# --- Leases --------------------------------------------------------------

path "sys/leases/lookup" {
  capabilities = ["update"]
}

path "sys/leases/revoke" {
  capabilities = ["update"]
}

# --- Keys: rekey (needs the unseal shares anyway), encryption-key rotation --

path "sys/rekey/init" {
  capabilities = ["read", "update", "delete"]
}

path "sys/rekey/update" {
  capabilities = ["update"]
}

path "sys/rekey/verify" {
  capabilities = ["read", "update", "delete"]
}

path "sys/rotate" {
  capabilities = ["update", "sudo"]
}

path "sys/rotate/config" {
  capabilities = ["read", "update"]
}

path "sys/key-status" {
  capabilities = ["read"]
}

# --- Server state --------------------------------------------------------

path "sys/metrics" {
  capabilities = ["read"]
}

path "sys/seal-status" {
  capabilities = ["read"]
}

# Sealing is an emergency brake; Vault requires sudo for it.
path "sys/seal" {
  capabilities = ["update", "sudo"]
}
