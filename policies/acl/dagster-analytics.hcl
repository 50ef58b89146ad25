# dagster-analytics: the read-only identity of the Dagster code location
# "analytics". It reads its own KV v2 secrets under secret/analytics/ and
# obtains dynamic PostgreSQL credentials from database/creds/analytics-*.
# Nothing else: no listing of other apps, no writes, no sys/ paths.

path "secret/data/analytics/*" {
  capabilities = ["read"]
}

path "secret/metadata/analytics/*" {
  capabilities = ["read", "list"]
}

path "database/creds/analytics-*" {
  capabilities = ["read"]
}
