# The access matrix: what each identity must and must not reach, proven on
# a live server by `vault-policy check` (run as policy-sync). It logs in as
# each identity through its AppRole, asks sys/capabilities-self about the
# path, and makes the real request:
#
#   read → GET, list → LIST, create/update → POST {} , patch → PATCH {},
#   delete → DELETE (only on rows that expect deny), sudo → none.
#
# `data = { … }` replaces the empty body, for rows about allowed_parameters
# (which sys/capabilities-self cannot see: a deny row with data is decided
# by the request alone); bodies are chosen so that an allowed request is
# refused by the backend (a path that does not exist, a negative count, an
# unknown type) and changes nothing. `login = "wrapped"` and
# `login = "wrapped-reuse"` rows log in with a response-wrapped secret_id,
# once and then a second time.
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
  path       = "database/creds/analytics-ro"
  capability = "read"
  expect     = "allow"
}

row "analytics-gets-read-write-db-credentials" {
  identity   = "dagster-analytics"
  path       = "database/creds/analytics-rw"
  capability = "read"
  expect     = "allow"
}

# Exact role names: a role another team names analytics-… is not analytics'.
row "analytics-cannot-get-lookalike-db-credentials" {
  identity   = "dagster-analytics"
  path       = "database/creds/analytics-billing-admin"
  capability = "read"
  expect     = "deny"
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
  data       = { num_uses = -1 }
}

# --- importer (env-import): writes under its apps' prefixes (check-and-set:
# the mount has cas_required), reads back there and reads metadata ---------

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

row "importer-lists-own-prefix" {
  identity   = "importer"
  path       = "secret/metadata/analytics/"
  capability = "list"
  expect     = "allow"
}

row "importer-cannot-list-mount" {
  identity   = "importer"
  path       = "secret/metadata/"
  capability = "list"
  expect     = "deny"
}

row "importer-cannot-read-other-app" {
  identity   = "importer"
  path       = "secret/data/billing/stripe"
  capability = "read"
  expect     = "deny"
}

row "importer-cannot-overwrite-other-app" {
  identity   = "importer"
  path       = "secret/data/billing/stripe"
  capability = "update"
  expect     = "deny"
}

row "importer-cannot-create-in-other-app" {
  identity   = "importer"
  path       = "secret/data/billing/vault-policy-probe"
  capability = "create"
  expect     = "deny"
}

row "importer-cannot-read-other-app-metadata" {
  identity   = "importer"
  path       = "secret/metadata/billing/stripe"
  capability = "read"
  expect     = "deny"
}

row "importer-cannot-set-metadata" {
  identity   = "importer"
  path       = "secret/metadata/analytics/vault-policy-probe"
  capability = "patch"
  expect     = "deny"
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
  path       = "database/creds/analytics-ro"
  capability = "read"
  expect     = "deny"
}

row "importer-cannot-write-policies" {
  identity   = "importer"
  path       = "sys/policies/acl/importer"
  capability = "update"
  expect     = "deny"
}

# --- rotator (vault-rotate): new versions and stage labels for its apps,
# static-role rotation; never history, never another app ----------------------

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

row "rotator-stages-next-value" {
  identity   = "rotator"
  path       = "secret/data/_rotation/analytics/vault-policy-probe"
  capability = "create"
  expect     = "allow"
}

# custom_metadata is allowed (the probe path does not exist: 404).
row "rotator-labels-versions" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/vault-policy-probe"
  capability = "patch"
  expect     = "allow"
  data       = { custom_metadata = { stage = "vault-policy-probe" } }
}

row "rotator-labels-staged-versions" {
  identity   = "rotator"
  path       = "secret/metadata/_rotation/analytics/vault-policy-probe"
  capability = "patch"
  expect     = "allow"
  data       = { custom_metadata = { stage = "vault-policy-probe" } }
}

row "rotator-cannot-set-max-versions" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/warehouse"
  capability = "patch"
  expect     = "deny"
  data       = { max_versions = 1 }
}

row "rotator-cannot-set-delete-version-after" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/warehouse"
  capability = "patch"
  expect     = "deny"
  data       = { delete_version_after = "1s" }
}

row "rotator-cannot-label-and-prune-at-once" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/warehouse"
  capability = "patch"
  expect     = "deny"
  data       = { custom_metadata = { stage = "vault-policy-probe" }, max_versions = 1 }
}

row "rotator-cannot-change-metadata-settings" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-delete" {
  identity   = "rotator"
  path       = "secret/data/analytics/warehouse"
  capability = "delete"
  expect     = "deny"
}

row "rotator-cannot-delete-versions" {
  identity   = "rotator"
  path       = "secret/delete/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-destroy-versions" {
  identity   = "rotator"
  path       = "secret/destroy/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-delete-history" {
  identity   = "rotator"
  path       = "secret/metadata/analytics/warehouse"
  capability = "delete"
  expect     = "deny"
}

row "rotator-reads-mount-settings" {
  identity   = "rotator"
  path       = "secret/config"
  capability = "read"
  expect     = "allow"
}

row "rotator-cannot-change-mount-settings" {
  identity   = "rotator"
  path       = "secret/config"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-read-other-app" {
  identity   = "rotator"
  path       = "secret/data/billing/stripe"
  capability = "read"
  expect     = "deny"
}

row "rotator-cannot-overwrite-other-app" {
  identity   = "rotator"
  path       = "secret/data/billing/stripe"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-read-other-app-staging" {
  identity   = "rotator"
  path       = "secret/data/_rotation/billing/stripe"
  capability = "read"
  expect     = "deny"
}

row "rotator-cannot-label-other-app" {
  identity   = "rotator"
  path       = "secret/metadata/billing/stripe"
  capability = "patch"
  expect     = "deny"
}

# Names and version metadata of every secret (vault-rotate lint), no values.
row "rotator-lists-mount" {
  identity   = "rotator"
  path       = "secret/metadata/"
  capability = "list"
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

row "rotator-tunes-static-role-schedule" {
  identity   = "rotator"
  path       = "database/static-roles/vault-policy-probe"
  capability = "update"
  expect     = "allow"
  data       = { rotation_period = "24h" }
}

row "rotator-cannot-repoint-static-role" {
  identity   = "rotator"
  path       = "database/static-roles/vault-policy-probe"
  capability = "update"
  expect     = "deny"
  data       = { username = "postgres", db_name = "vault-policy-probe" }
}

row "rotator-cannot-create-static-role" {
  identity   = "rotator"
  path       = "database/static-roles/vault-policy-probe"
  capability = "create"
  expect     = "deny"
  operation  = "none"
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

row "rotator-cannot-reconfigure-database" {
  identity   = "rotator"
  path       = "database/config/postgres"
  capability = "update"
  expect     = "deny"
}

row "rotator-cannot-get-dynamic-credentials" {
  identity   = "rotator"
  path       = "database/creds/analytics-ro"
  capability = "read"
  expect     = "deny"
}

row "rotator-cannot-take-snapshot" {
  identity   = "rotator"
  path       = "sys/storage/raft/snapshot"
  capability = "read"
  expect     = "deny"
}

row "rotator-cannot-issue-own-secret-ids" {
  identity   = "rotator"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

# A wrapped secret_id (vault-policy issue --wrap-ttl) logs in once; the
# same wrapping token a second time is refused.
row "rotator-logs-in-with-wrapped-secret-id" {
  identity   = "rotator"
  path       = "auth/approle/login"
  capability = "update"
  expect     = "allow"
  login      = "wrapped"
}

row "rotator-wrapped-secret-id-works-once" {
  identity   = "rotator"
  path       = "auth/approle/login"
  capability = "update"
  expect     = "deny"
  login      = "wrapped-reuse"
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

row "snapshot-cannot-force-restore" {
  identity   = "snapshot"
  path       = "sys/storage/raft/snapshot-force"
  capability = "update"
  expect     = "deny"
}

row "snapshot-cannot-restore" {
  identity   = "snapshot"
  path       = "sys/storage/raft/snapshot"
  capability = "update"
  expect     = "deny"
}

row "snapshot-cannot-read-secrets" {
  identity   = "snapshot"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "deny"
}

# Names only, for the manifest's per-mount counts.
row "snapshot-lists-secret-names" {
  identity   = "snapshot"
  path       = "secret/metadata/"
  capability = "list"
  expect     = "allow"
}

row "snapshot-reads-mount-table" {
  identity   = "snapshot"
  path       = "sys/mounts"
  capability = "read"
  expect     = "allow"
}

row "snapshot-cannot-read-secret-metadata" {
  identity   = "snapshot"
  path       = "secret/metadata/analytics/warehouse"
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


row "auditor-cannot-reconfigure-audit-device" {
  identity   = "auditor"
  path       = "sys/audit/file"
  capability = "update"
  expect     = "deny"
  data       = { type = "vault-policy-probe", options = { log_raw = "true" } }
}

# --- prometheus: reads sys/metrics, nothing else ------------------------------

row "prometheus-reads-metrics" {
  identity   = "prometheus"
  path       = "sys/metrics"
  capability = "read"
  expect     = "allow"
}

row "prometheus-cannot-read-secrets" {
  identity   = "prometheus"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "deny"
}

row "prometheus-cannot-list-audit-devices" {
  identity   = "prometheus"
  path       = "sys/audit"
  capability = "read"
  expect     = "deny"
}

# --- policy-sync: the one identity that writes policies and AppRoles
# (root-equivalent by that alone); it reads no secrets, touches no audit -----

row "policy-sync-writes-policies" {
  identity   = "policy-sync"
  path       = "sys/policies/acl/vault-policy-probe"
  capability = "update"
  expect     = "allow"
}

# An unparseable TTL: allowed by the ACL, refused by AppRole, nothing made.
row "policy-sync-writes-approles" {
  identity   = "policy-sync"
  path       = "auth/approle/role/vault-policy-probe"
  capability = "update"
  expect     = "allow"
  data       = { token_ttl = "vault-policy-probe" }
}

row "policy-sync-issues-secret-ids" {
  identity   = "policy-sync"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "allow"
  data       = { num_uses = -1 }
}

row "policy-sync-cannot-read-secrets" {
  identity   = "policy-sync"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "deny"
}

row "policy-sync-cannot-list-secrets" {
  identity   = "policy-sync"
  path       = "secret/metadata/"
  capability = "list"
  expect     = "deny"
}

row "policy-sync-cannot-touch-audit-devices" {
  identity   = "policy-sync"
  path       = "sys/audit/file"
  capability = "update"
  expect     = "deny"
  data       = { type = "vault-policy-probe", options = { log_raw = "true" } }
}

row "policy-sync-cannot-mount-engines" {
  identity   = "policy-sync"
  path       = "sys/mounts/vault-policy-probe"
  capability = "update"
  expect     = "deny"
}

row "policy-sync-cannot-take-snapshot" {
  identity   = "policy-sync"
  path       = "sys/storage/raft/snapshot"
  capability = "read"
  expect     = "deny"
}

# --- admin: the human operator (AppRole); operates, never escalates ----------

row "admin-lists-policies" {
  identity   = "admin"
  path       = "sys/policies/acl"
  capability = "list"
  expect     = "allow"
}

row "admin-reads-policies" {
  identity   = "admin"
  path       = "sys/policies/acl/admin"
  capability = "read"
  expect     = "allow"
}

# Self-escalation, way 1: rewrite its own policy to path "*".
row "admin-cannot-write-own-policy" {
  identity   = "admin"
  path       = "sys/policies/acl/admin"
  capability = "update"
  expect     = "deny"
}

# Way 2: a new policy, and a role carrying it.
row "admin-cannot-write-new-policy" {
  identity   = "admin"
  path       = "sys/policies/acl/vault-policy-probe"
  capability = "create"
  expect     = "deny"
}

row "admin-cannot-create-approle" {
  identity   = "admin"
  path       = "auth/approle/role/vault-policy-probe"
  capability = "create"
  expect     = "deny"
}

row "admin-cannot-attach-policies-to-roles" {
  identity   = "admin"
  path       = "auth/approle/role/importer"
  capability = "update"
  expect     = "deny"
  data       = { token_policies = ["policy-sync"] }
}

# Way 3: log in as policy-sync, or mint itself more admin logins.
row "admin-cannot-issue-policy-sync-secret-ids" {
  identity   = "admin"
  path       = "auth/approle/role/policy-sync/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

row "admin-cannot-issue-own-secret-ids" {
  identity   = "admin"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

# Way 4: tokens beyond its own — children, orphans, token roles.
row "admin-cannot-create-tokens" {
  identity   = "admin"
  path       = "auth/token/create"
  capability = "update"
  expect     = "deny"
}

row "admin-cannot-create-orphan-tokens" {
  identity   = "admin"
  path       = "auth/token/create-orphan"
  capability = "update"
  expect     = "deny"
}

row "admin-cannot-create-token-roles" {
  identity   = "admin"
  path       = "auth/token/roles/vault-policy-probe"
  capability = "create"
  expect     = "deny"
}

# Re-issuing a machine identity's secret_id (num_uses -1: refused after the
# ACL, nothing issued).
row "admin-reissues-rotator-secret-ids" {
  identity   = "admin"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "update"
  expect     = "allow"
  data       = { num_uses = -1 }
}

row "admin-lists-rotator-secret-id-accessors" {
  identity   = "admin"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "list"
  expect     = "allow"
}

row "admin-reads-approles" {
  identity   = "admin"
  path       = "auth/approle/role/dagster-analytics"
  capability = "read"
  expect     = "allow"
}

# Audit: silencing (disable) and poisoning (log_raw) need the root quorum.
row "admin-cannot-disable-audit-device" {
  identity   = "admin"
  path       = "sys/audit/file-secondary"
  capability = "delete"
  expect     = "deny"
}

row "admin-cannot-enable-audit-device-with-log-raw" {
  identity   = "admin"
  path       = "sys/audit/vault-policy-probe"
  capability = "update"
  expect     = "deny"
  data       = { type = "vault-policy-probe", options = { file_path = "/dev/null", log_raw = "true", mode = "0644" } }
}

row "admin-cannot-reconfigure-audit-device" {
  identity   = "admin"
  path       = "sys/audit/file"
  capability = "update"
  expect     = "deny"
  data       = { type = "vault-policy-probe", options = { log_raw = "true" } }
}

row "admin-has-no-sudo-on-audit-devices" {
  identity   = "admin"
  path       = "sys/audit/file"
  capability = "sudo"
  expect     = "deny"
}

# Poisoning the log without touching a device: fields left un-HMAC'd.
row "admin-cannot-unhash-secrets-in-audit" {
  identity   = "admin"
  path       = "sys/mounts/secret/tune"
  capability = "update"
  expect     = "deny"
  data       = { audit_non_hmac_response_keys = ["data"] }
}

row "admin-cannot-unhash-secret-ids-in-audit" {
  identity   = "admin"
  path       = "sys/auth/approle/tune"
  capability = "update"
  expect     = "deny"
  data       = { audit_non_hmac_request_keys = ["secret_id"] }
}

row "admin-cannot-mount-with-unhashed-audit" {
  identity   = "admin"
  path       = "sys/mounts/vault-policy-probe"
  capability = "update"
  expect     = "deny"
  data       = { type = "kv", config = { audit_non_hmac_response_keys = ["data"] } }
}

# A mount that does not exist: allowed by the ACL, refused by Vault.
row "admin-tunes-lease-ttls" {
  identity   = "admin"
  path       = "sys/mounts/vault-policy-probe/tune"
  capability = "update"
  expect     = "allow"
  data       = { max_lease_ttl = "768h" }
}

row "admin-lists-audit-devices" {
  identity   = "admin"
  path       = "sys/audit"
  capability = "read"
  expect     = "allow"
}

row "admin-reads-audited-headers" {
  identity   = "admin"
  path       = "sys/config/auditing/request-headers"
  capability = "read"
  expect     = "allow"
}

# Auth methods: tune approle, never enable, disable or add another.
row "admin-tunes-approle" {
  identity   = "admin"
  path       = "sys/auth/approle/tune"
  capability = "sudo"
  expect     = "allow"
}

row "admin-cannot-disable-approle" {
  identity   = "admin"
  path       = "sys/auth/approle"
  capability = "delete"
  expect     = "deny"
  operation  = "none"
}

row "admin-cannot-enable-other-auth-methods" {
  identity   = "admin"
  path       = "sys/auth/userpass"
  capability = "update"
  expect     = "deny"
}

# Secrets: read and write; soft delete; never destroy history.
row "admin-reads-secrets" {
  identity   = "admin"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "allow"
}

row "admin-cannot-destroy-versions" {
  identity   = "admin"
  path       = "secret/destroy/analytics/warehouse"
  capability = "update"
  expect     = "deny"
}

row "admin-cannot-delete-history" {
  identity   = "admin"
  path       = "secret/metadata/analytics/warehouse"
  capability = "delete"
  expect     = "deny"
}

row "admin-cannot-set-max-versions" {
  identity   = "admin"
  path       = "secret/metadata/analytics/warehouse"
  capability = "patch"
  expect     = "deny"
  data       = { max_versions = 1 }
}

row "admin-cannot-change-mount-settings" {
  identity   = "admin"
  path       = "secret/config"
  capability = "update"
  expect     = "deny"
}

# Unmounting secret/ would erase everything: capabilities only, no request.
row "admin-cannot-unmount-secrets" {
  identity   = "admin"
  path       = "sys/mounts/secret"
  capability = "delete"
  expect     = "deny"
  operation  = "none"
}

row "admin-has-no-sudo-on-secrets" {
  identity   = "admin"
  path       = "secret/data/analytics/warehouse"
  capability = "sudo"
  expect     = "deny"
}

# Operating: mounts, leases, keys, metrics, snapshots and restores.
row "admin-mounts-engines" {
  identity   = "admin"
  path       = "sys/mounts/vault-policy-probe"
  capability = "update"
  expect     = "allow"
  operation  = "none"
}

row "admin-revokes-leases" {
  identity   = "admin"
  path       = "sys/leases/revoke"
  capability = "update"
  expect     = "allow"
}

row "admin-rotates-encryption-key" {
  identity   = "admin"
  path       = "sys/rotate"
  capability = "sudo"
  expect     = "allow"
}

row "admin-rekeys" {
  identity   = "admin"
  path       = "sys/rekey/init"
  capability = "read"
  expect     = "allow"
}

row "admin-reads-metrics" {
  identity   = "admin"
  path       = "sys/metrics"
  capability = "read"
  expect     = "allow"
}

row "admin-takes-snapshot" {
  identity   = "admin"
  path       = "sys/storage/raft/snapshot"
  capability = "read"
  expect     = "allow"
}

# Restoring is break-glass (root quorum): a restore revives revoked tokens
# and spent secret_ids, and snapshot-force with another cluster's snapshot
# hands the server to that cluster's root token.
row "admin-cannot-force-restore" {
  identity   = "admin"
  path       = "sys/storage/raft/snapshot-force"
  capability = "update"
  expect     = "deny"
}

row "admin-cannot-restore" {
  identity   = "admin"
  path       = "sys/storage/raft/snapshot"
  capability = "update"
  expect     = "deny"
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

# --- broker: mints wrapped secret_ids for its named roles, nothing else ------
#
# Probes that must pass the ACL carry metadata that is not JSON: the AppRole
# backend refuses it after the ACL check, so no secret_id is minted.

row "broker-mints-wrapped-rotator-secret-id" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "update"
  expect     = "allow"
  wrap_ttl   = "5m"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-mints-wrapped-snapshot-secret-id" {
  identity   = "broker"
  path       = "auth/approle/role/snapshot/secret-id"
  capability = "update"
  expect     = "allow"
  wrap_ttl   = "5m"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-mints-wrapped-dagster-secret-id" {
  identity   = "broker"
  path       = "auth/approle/role/dagster-analytics/secret-id"
  capability = "update"
  expect     = "allow"
  wrap_ttl   = "5m"
  data       = { num_uses = "0", ttl = "72h", metadata = "vault-policy-probe" }
}

row "broker-reads-rotator-role-id" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/role-id"
  capability = "read"
  expect     = "allow"
}

row "broker-looks-up-dagster-secret-ids" {
  identity   = "broker"
  path       = "auth/approle/role/dagster-analytics/secret-id/lookup"
  capability = "update"
  expect     = "allow"
}

row "broker-destroys-replaced-dagster-secret-ids" {
  identity   = "broker"
  path       = "auth/approle/role/dagster-analytics/secret-id-accessor/destroy"
  capability = "update"
  expect     = "allow"
}

row "broker-renews-own-token" {
  identity   = "broker"
  path       = "auth/token/renew-self"
  capability = "update"
  expect     = "allow"
  operation  = "none"
}

# Unwrapped, the secret_id would pass through the broker's hands.
row "broker-cannot-mint-unwrapped" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-cannot-mint-longer-wrapping" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "1h"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

# A timer's secret_id logs in once and lives 10 minutes, whatever it asks.
row "broker-cannot-mint-reusable-timer-secret-id" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "5m"
  data       = { num_uses = "0", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-cannot-mint-long-lived-timer-secret-id" {
  identity   = "broker"
  path       = "auth/approle/role/snapshot/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "5m"
  data       = { num_uses = "1", ttl = "720h", metadata = "vault-policy-probe" }
}

row "broker-cannot-mint-with-role-defaults" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "5m"
  data       = { metadata = "vault-policy-probe" }
}

row "broker-cannot-mint-for-policy-sync" {
  identity   = "broker"
  path       = "auth/approle/role/policy-sync/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "5m"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-cannot-mint-for-admin" {
  identity   = "broker"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "5m"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-cannot-mint-for-importer" {
  identity   = "broker"
  path       = "auth/approle/role/importer/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "5m"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-cannot-mint-for-itself" {
  identity   = "broker"
  path       = "auth/approle/role/broker/secret-id"
  capability = "update"
  expect     = "deny"
  wrap_ttl   = "5m"
  data       = { num_uses = "1", ttl = "10m", metadata = "vault-policy-probe" }
}

row "broker-cannot-choose-a-secret-id" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/custom-secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

row "broker-cannot-change-a-role" {
  identity   = "broker"
  path       = "auth/approle/role/rotator"
  capability = "update"
  expect     = "deny"
  data       = { token_policies = ["policy-sync"] }
}

row "broker-cannot-read-policy-sync-role-id" {
  identity   = "broker"
  path       = "auth/approle/role/policy-sync/role-id"
  capability = "read"
  expect     = "deny"
}

row "broker-cannot-destroy-timer-secret-ids" {
  identity   = "broker"
  path       = "auth/approle/role/rotator/secret-id-accessor/destroy"
  capability = "update"
  expect     = "deny"
}

row "broker-cannot-read-secrets" {
  identity   = "broker"
  path       = "secret/data/analytics/warehouse"
  capability = "read"
  expect     = "deny"
}

row "broker-cannot-list-secrets" {
  identity   = "broker"
  path       = "secret/metadata/"
  capability = "list"
  expect     = "deny"
}

row "broker-cannot-create-tokens" {
  identity   = "broker"
  path       = "auth/token/create"
  capability = "update"
  expect     = "deny"
}

row "broker-cannot-write-policies" {
  identity   = "broker"
  path       = "sys/policies/acl/vault-policy-probe"
  capability = "update"
  expect     = "deny"
}

# admin bootstraps the broker (one wrapped, single-use secret_id).
row "admin-issues-broker-secret-ids" {
  identity   = "admin"
  path       = "auth/approle/role/broker/secret-id"
  capability = "update"
  expect     = "allow"
  data       = { num_uses = -1 }
}

# --- no identity mints a secret_id for another role (a line in default, which
# every token carries, would grant it to all: issue 30). admin and
# policy-sync have their own rows above. ---

row "analytics-cannot-mint-admin-secret-id" {
  identity   = "dagster-analytics"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

row "auditor-cannot-mint-admin-secret-id" {
  identity   = "auditor"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

row "importer-cannot-mint-admin-secret-id" {
  identity   = "importer"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

row "prometheus-cannot-mint-admin-secret-id" {
  identity   = "prometheus"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

row "rotator-cannot-mint-admin-secret-id" {
  identity   = "rotator"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}

row "snapshot-cannot-mint-admin-secret-id" {
  identity   = "snapshot"
  path       = "auth/approle/role/admin/secret-id"
  capability = "update"
  expect     = "deny"
  data       = { num_uses = -1 }
}
