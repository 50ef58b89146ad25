# importer: the identity env-import runs as (AppRole approles/importer.hcl),
# for the apps it migrates — each named here by its prefix, never a glob
# over every app. It creates secrets and writes new versions; the KV mount
# has cas_required = true (set at bootstrap), so every update must name the
# version it replaces. It reads back only under its own prefixes (the merge
# of a path's fields and the verify step need that), and reads metadata to
# learn the version to check against. It cannot delete or destroy versions,
# change metadata settings, or see any other app's values.
#
# Another app to migrate: add its two path blocks (and matrix rows).

# --- analytics -----------------------------------------------------------

path "secret/data/analytics/*" {
  capabilities = ["create", "update", "read"]
}

path "secret/metadata/analytics/*" {
  capabilities = ["read", "list"]
}
