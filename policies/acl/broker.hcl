# broker: the identity vault-broker runs as, as root on the Vault host
# (AppRole approles/broker.hcl; a periodic token, renewed hourly, in
# /etc/vaultpipe/broker/token, root 0600). It keeps the unattended
# identities credentialed so that no human re-issues their secret_ids:
#
#   - for each timer unit's AppRole (rotator, snapshot), right before the
#     unit starts, one secret_id that logs in once and lives 10 minutes,
#     response-wrapped (the unit unwraps it at login), never seen in clear;
#   - for each Dagster code location (dagster-analytics), a secret_id file
#     re-issued days before it expires, the old one destroyed.
#
# ROOT-EQUIVALENT FOR THESE ROLES ONLY: whoever holds its token can log in
# as rotator, snapshot or dagster-analytics. It cannot mint for any other
# role (policy-sync, admin, importer, auditor, prometheus, itself), change a
# role, choose a secret_id's value, or read a secret; every secret_id it
# mints is wrapped (min_wrapping_ttl) with the TTL and uses pinned below
# (allowed_parameters compares the strings vault-broker sends).
#
# Another role for the broker: copy its block, name the role exactly (never
# a glob: role/+ would include policy-sync), and add matrix rows.

# --- rotator (vault-rotate.timer) -------------------------------------------

path "auth/approle/role/rotator/role-id" {
  capabilities = ["read"]
}

path "auth/approle/role/rotator/secret-id" {
  capabilities        = ["update"]
  min_wrapping_ttl    = "1s"
  max_wrapping_ttl    = "10m"
  required_parameters = ["num_uses", "ttl"]
  allowed_parameters = {
    "num_uses" = ["1"]
    "ttl"      = ["10m"]
    "metadata" = []
  }
}

# --- snapshot (vault-snap.timer) --------------------------------------------

path "auth/approle/role/snapshot/role-id" {
  capabilities = ["read"]
}

path "auth/approle/role/snapshot/secret-id" {
  capabilities        = ["update"]
  min_wrapping_ttl    = "1s"
  max_wrapping_ttl    = "10m"
  required_parameters = ["num_uses", "ttl"]
  allowed_parameters = {
    "num_uses" = ["1"]
    "ttl"      = ["10m"]
    "metadata" = []
  }
}

# --- dagster-analytics (every Dagster run logs in: a file, kept fresh) --------

path "auth/approle/role/dagster-analytics/role-id" {
  capabilities = ["read"]
}

path "auth/approle/role/dagster-analytics/secret-id" {
  capabilities        = ["update"]
  min_wrapping_ttl    = "1s"
  max_wrapping_ttl    = "10m"
  required_parameters = ["num_uses", "ttl"]
  allowed_parameters = {
    "num_uses" = ["0"]
    "ttl"      = ["72h"]
    "metadata" = []
  }
}

# How long the file's secret_id has left (the value goes in the body).
path "auth/approle/role/dagster-analytics/secret-id/lookup" {
  capabilities = ["update"]
}

# The replaced secret_id is destroyed at once.
path "auth/approle/role/dagster-analytics/secret-id-accessor/destroy" {
  capabilities = ["update"]
}
