# rotator: the identity vault-rotate runs as from its systemd timer (AppRole
# approles/rotator.hcl). For the secrets it rotates — each app named here by
# its prefix, never a glob over every app — it writes new KV v2 versions
# (check-and-set: the mount has cas_required), stages the next value under
# _rotation/<path>, and labels versions through custom_metadata. It can
# never prune history: no max_versions, no delete_version_after (metadata
# writes allow custom_metadata only), no delete, no destroy. For the
# database it rotates existing static roles and tunes their schedule, but
# cannot point one at another database user, change the connection, or read
# dynamic credentials.
#
# Another app whose secrets rotate: add its data and metadata blocks (and
# _rotation/ twins, and matrix rows).

# --- analytics -----------------------------------------------------------

# New versions, and the current one read to verify or roll back.
path "secret/data/analytics/*" {
  capabilities = ["create", "update", "read"]
}

path "secret/data/_rotation/analytics/*" {
  capabilities = ["create", "update", "read"]
}

# Stage labels (PATCH, merged): custom_metadata and nothing else.
path "secret/metadata/analytics/*" {
  capabilities = ["read", "list", "patch"]
  allowed_parameters = {
    "custom_metadata" = []
  }
}

path "secret/metadata/_rotation/analytics/*" {
  capabilities = ["read", "list", "patch"]
  allowed_parameters = {
    "custom_metadata" = []
  }
}

# --- every app: names and version metadata, never values -----------------

# vault-rotate lint and status walk the mount (key names, current_version,
# max_versions, custom_metadata labels).
path "secret/metadata/*" {
  capabilities = ["read", "list"]
}

# The engine's max_versions and cas_required (set at bootstrap): lint
# compares keep_versions with them.
path "secret/config" {
  capabilities = ["read"]
}

# --- database static roles -----------------------------------------------

path "database/static-roles" {
  capabilities = ["list"]
}

# Read a static role, and tune when it rotates; not its username, db_name or
# rotation statements (which would hand it another database user).
path "database/static-roles/*" {
  capabilities = ["read", "update"]
  allowed_parameters = {
    "rotation_period"   = []
    "rotation_schedule" = []
    "rotation_window"   = []
  }
}

# Rotate a static role's password now.
path "database/rotate-role/*" {
  capabilities = ["update"]
}

# Read the rotated password back to prove the new one logs in.
path "database/static-creds/*" {
  capabilities = ["read"]
}
