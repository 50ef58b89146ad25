# rotator: the identity vault-rotate runs as from its systemd timer (AppRole
# approles/rotator.hcl). It writes new KV v2 versions, labels them through
# custom_metadata, and rotates the passwords of the database secrets
# engine's static roles. It cannot delete or destroy versions, change the
# database connection, or read dynamic credentials.

# New versions (with cas) and reading the current one to verify or roll back.
path "secret/data/*" {
  capabilities = ["create", "update", "read"]
}

# Versions list, and custom_metadata stage labels (PATCH, merged).
path "secret/metadata/*" {
  capabilities = ["read", "list", "patch"]
}

# Which static roles exist and when they were last rotated.
path "database/static-roles" {
  capabilities = ["list"]
}

path "database/static-roles/*" {
  capabilities = ["read"]
}

# Rotate a static role's password now.
path "database/rotate-role/*" {
  capabilities = ["update"]
}

# Read the rotated password back to prove the new one logs in.
path "database/static-creds/*" {
  capabilities = ["read"]
}
