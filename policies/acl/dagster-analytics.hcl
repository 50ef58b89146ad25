# dagster-analytics: the read-only identity of the Dagster code location
# "analytics" (AppRole approles/dagster-analytics.hcl). It reads its own KV v2
# secrets under secret/analytics/ and obtains dynamic PostgreSQL credentials
# from its database roles analytics-ro and analytics-rw, named exactly (a
# glob such as analytics-* would also match a role analytics-billing-admin
# made for someone else). Nothing else: no writes, no other app's
# paths, no sys/ paths. Token renewal, lookup and revocation come from Vault's
# built-in default policy, which every AppRole token also carries.
#
# Another code location gets a copy of this file with its own name and
# prefix (acl/dagster-<location>.hcl) — never a shared wildcard.

# Current and older versions of its secrets (get_secret(path, version=…)).
path "secret/data/analytics/*" {
  capabilities = ["read"]
}

# Metadata: current version, created time, custom_metadata (stage labels
# written by vault-rotate), and the names of its own secrets.
path "secret/metadata/analytics/*" {
  capabilities = ["read", "list"]
}

# Dynamic database users for its roles only. Renewal (sys/leases/renew) comes
# from the default policy.
path "database/creds/analytics-ro" {
  capabilities = ["read"]
}

path "database/creds/analytics-rw" {
  capabilities = ["read"]
}

# Revoking a run's database user at teardown, before its TTL. The default
# policy lacks it; revocation needs the lease ID, which only the run holds,
# and never widens access. No revoke-prefix.
path "sys/leases/revoke" {
  capabilities = ["update"]
}
