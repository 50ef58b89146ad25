# The access matrix: what each identity must and must not reach, proven on
# a live server by `vault-policy check`. It logs in as each identity (its
# AppRole; admin through a short token carrying the admin policy), asks
# sys/capabilities-self about the path, and makes the real request:
#
#   read → GET, list → LIST, create/update → POST {} , patch → PATCH {},
#   delete → DELETE (only on rows that expect deny), sudo → none.
#
# Vault checks the policy before a request reaches its backend, so a 403
# means denied and any other answer (200, 400 "no data provided", 404)
# means allowed. The empty write bodies are refused by the backends after
# the ACL check, so nothing is written; paths named vault-policy-probe do not
# exist. Set `operation = "none"` on a row whose real request would change
# something. Every row needs both answers to match `expect`.
#
# Both directions matter: "allow" rows catch a policy that lost access,
# "deny" rows catch one that grew.

# --- dagster-analytics: reads its own secrets and DB credentials, nothing else ---

row "analytics-reads-own-secret" {
  identity   = "dagster-analytics"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "allow"
}

row "analytics-reads-own-metadata" {
  identity   = "dagster-analytics"
  path       = "secret/metadata/analytics/warehouse"
  capability = "read"
  expect     = "allow"
}

row "analytics-lists-own-secrets" {
  identity   = "dagster-analytics"
  path       = "secret/metadata/analytics/"
  capability = "list"
  expect     = "allow"
}

row "analytics-gets-db-credentials" {
  identity   = "dagster-analytics"
  path       = "database/creds/analytics-readonly"
  capability = "read"
  expect     = "allow"
}

row "analytics-revokes-its-leases" {
  identity   = "dagster-analytics"
  path       = "sys/leases/revoke"
  capability = "update"
  expect     = "allow"
}

row "analytics-cannot-revoke-by-prefix" {
  identity   = "dagster-analytics"
  path       = "sys/leases/revoke-prefix/database/creds"
  capability = "update"
  expect     = "deny"
}

row "analytics-cannot-update-own-secret" {
  identity   = "dagster-analytics"
  path       = "secret/data/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "analytics-cannot-create-secret" {
  identity   = "dagster-analytics"
  path       = "secret/data/analytics/vault-policy-probe"
  capability = "create"
  expect     = "deny"
}

row "analytics-cannot-delete-own-secret" {
  identity   = "dagster-analytics"
  path       = "secret/data/analytics/warehouse"
  capability = "delete"
  expect     = "deny"
}

row "analytics-cannot-destroy-versions" {
  identity   = "dagster-analytics"
  path       = "secret/destroy/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "analytics-cannot-read-other-app" {
  identity   = "dagster-analytics"
  path       = "secret/data/billing/stripe"
  capability = "read"
  expect     = "deny"
}

row "analytics-cannot-list-other-apps" {
  identity   = "dagster-analytics"
  path       = "secret/metadata/"
  capability = "list"
  expect     = "deny"
}

row "analytics-cannot-get-other-db-credentials" {
  identity   = "dagster-analytics"
  path       = "database/creds/billing-readwrite"
  capability = "read"
  expect     = "deny"
}

row "analytics-cannot-read-policies" {
  identity   = "dagster-analytics"
  path       = "sys/policies/acl/admin"
  capability = "read"
  expect     = "deny"
}

row "analytics-cannot-take-snapshot" {
  identity   = "dagster-analytics"
  path       = "sys/storage/raft/snapshot"
  capability = "read"
  expect     = "deny"
}

row "analytics-cannot-issue-own-secret-ids" {
  identity   = "dagster-analytics"
  path       = "auth/approle/role/dagster-analytics/secret-id"
  capability = "update"
  expect     = "deny"
}

# --- importer (env-import): writes with check-and-set, reads back and reads metadata ---

row "importer-creates-secret" {
  identity   = "importer"
  path       = "secret/data/analytics/vault-policy-probe"
  capability = "create"
  expect     = "allow"
}

row "importer-updates-secret" {
  identity   = "importer"
  path       = "secret/data/analytics/vault-policy-probe"
  capability = "update"
  expect     = "allow"
}

row "importer-reads-back" {
  identity   = "importer"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "allow"
}

row "importer-reads-metadata" {
  identity   = "importer"
  path       = "secret/metadata/analytics/warehouse"
  capability = "read"
  expect     = "allow"
}

row "importer-lists-mount" {
  identity   = "importer"
  path       = "secret/metadata/"
  capability = "list"
  expect     = "allow"
}

row "importer-cannot-delete" {
  identity   = "importer"
  path       = "secret/data/analytics/warehouse"
  capability = "delete"
  expect     = "deny"
}

row "importer-cannot-destroy-versions" {
  identity   = "importer"
  path       = "secret/destroy/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "importer-cannot-change-metadata" {
  identity   = "importer"
  path       = "secret/metadata/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "importer-cannot-get-db-credentials" {
  identity   = "importer"
  path       = "database/creds/analytics-readonly"
  capability = "read"
  expect     = "deny"
}

row "importer-cannot-write-policies" {
  identity   = "importer"
  path       = "sys/policies/acl/importer"
  capability = "update"
  expect     = "deny"
}

# --- rotator (vault-rotate): new KV versions, stage labels, static-role rotation ---

row "rotator-writes-new-version" {
  identity   = "rotator"
  path       = "secret/data/analytics/vault-policy-probe"
  capability = "update"
  expect     = "allow"
}

row "rotator-reads-current-version" {
  identity   = "rotator"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "allow"
}

row "rotator-labels-versions" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/vault-policy-probe"
  capability = "patch"
  expect     = "allow"
}

row "rotator-lists-static-roles" {
  identity   = "rotator"
  path       = "database/static-roles"
  capability = "list"
  expect     = "allow"
}

row "rotator-reads-static-role" {
  identity   = "rotator"
  path       = "database/static-roles/analytics"
  capability = "read"
  expect     = "allow"
}

# A role that does not exist: the probe passes the ACL and rotates nothing.
row "rotator-rotates-static-role" {
  identity   = "rotator"
  path       = "database/rotate-role/vault-policy-probe"
  capability = "update"
  expect     = "allow"
}

row "rotator-reads-static-credentials" {
  identity   = "rotator"
  path       = "database/static-creds/analytics"
  capability = "read"
  expect     = "allow"
}

row "rotator-cannot-delete" {
  identity   = "rotator"
  path       = "secret/data/analytics/warehouse"
  capability = "delete"
  expect     = "deny"
}

row "rotator-cannot-destroy-versions" {
  identity   = "rotator"
  path       = "secret/destroy/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-change-metadata-settings" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-reconfigure-database" {
  identity   = "rotator"
  path       = "database/config/postgres"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-get-dynamic-credentials" {
  identity   = "rotator"
  path       = "database/creds/analytics-readonly"
  capability = "read"
  expect     = "deny"
}

row "rotator-cannot-take-snapshot" {
  identity   = "rotator"
  path       = "sys/storage/raft/snapshot"
  capability = "read"
  expect     = "deny"
}

# --- snapshot (vault-snap): takes raft snapshots, cannot restore them --------

row "snapshot-takes-snapshot" {
  identity   = "snapshot"
  path       = "sys/storage/raft/snapshot"
  capability = "read"
  expect     = "allow"
}

row "snapshot-reads-raft-configuration" {
  identity   = "snapshot"
  path       = "sys/storage/raft/configuration"
  capability = "read"
  expect     = "allow"
}

row "snapshot-cannot-restore" {
  identity   = "snapshot"
  path       = "sys/storage/raft/snapshot-force"
  capability = "update"
  expect     = "deny"
}

row "snapshot-cannot-read-secrets" {
  identity   = "snapshot"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "deny"
}

row "snapshot-cannot-list-audit-devices" {
  identity   = "snapshot"
  path       = "sys/audit"
  capability = "read"
  expect     = "deny"
}

# --- auditor: reads audit configuration and hashes, changes nothing ----------

row "auditor-lists-audit-devices" {
  identity   = "auditor"
  path       = "sys/audit"
  capability = "read"
  expect     = "allow"
}

row "auditor-has-sudo-on-audit-list-only" {
  identity   = "auditor"
  path       = "sys/audit"
  capability = "sudo"
  expect     = "allow"
}

row "auditor-hashes-values" {
  identity   = "auditor"
  path       = "sys/audit-hash/file"
  capability = "update"
  expect     = "allow"
}

row "auditor-reads-audited-headers" {
  identity   = "auditor"
  path       = "sys/config/auditing/request-headers"
  capability = "read"
  expect     = "allow"
}

row "auditor-cannot-disable-audit-device" {
  identity   = "auditor"
  path       = "sys/audit/file"
  capability = "delete"
  expect     = "deny"
}

row "auditor-cannot-enable-audit-device" {
  identity   = "auditor"
  path       = "sys/audit/file"
  capability = "update"
  expect     = "deny"
}

row "auditor-cannot-read-secrets" {
  identity   = "auditor"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "deny"
}

# --- admin: a person's token with the admin policy (no AppRole) --------------

row "admin-lists-policies" {
  identity   = "admin"
  path       = "sys/policies/acl"
  capability = "list"
  expect     = "allow"
}

row "admin-writes-policies" {
  identity   = "admin"
  path       = "sys/policies/acl/vault-policy-probe"
  capability = "update"
  expect     = "allow"
}

row "admin-reads-secrets" {
  identity   = "admin"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "allow"
}

row "admin-reads-approles" {
  identity   = "admin"
  path       = "auth/approle/role/dagster-analytics"
  capability = "read"
  expect     = "allow"
}

row "admin-enables-auth-methods" {
  identity   = "admin"
  path       = "sys/auth/approle"
  capability = "sudo"
  expect     = "allow"
}

row "admin-cannot-enable-other-auth-methods" {
  identity   = "admin"
  path       = "sys/auth/userpass"
  capability = "update"
  expect     = "deny"
}

row "admin-manages-the-audit-devices" {
  identity   = "admin"
  path       = "sys/audit/file-secondary"
  capability = "sudo"
  expect     = "allow"
}

row "admin-cannot-disable-unknown-audit-devices" {
  identity   = "admin"
  path       = "sys/audit/socket"
  capability = "delete"
  expect     = "deny"
}

row "admin-takes-snapshot" {
  identity   = "admin"
  path       = "sys/storage/raft/snapshot"
  capability = "read"
  expect     = "allow"
}

row "admin-lists-audit-devices" {
  identity   = "admin"
  path       = "sys/audit"
  capability = "read"
  expect     = "allow"
}

row "admin-cannot-read-raw-storage" {
  identity   = "admin"
  path       = "sys/raw/core/keyring"
  capability = "read"
  expect     = "deny"
}

row "admin-cannot-register-plugins" {
  identity   = "admin"
  path       = "sys/plugins/catalog/secret/vault-policy-probe"
  capability = "update"
  expect     = "deny"
}

row "admin-has-no-sudo-on-secrets" {
  identity   = "admin"
  path       = "secret/data/analytics/warehouse"
  capability = "sudo"
  expect     = "deny"
}
