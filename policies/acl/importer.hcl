# importer: the identity env-import runs as (AppRole approles/importer.hcl).
# It writes new KV v2 versions with check-and-set, reads them back to verify
# what it wrote, and reads metadata to learn the version to check against.
# It cannot delete or destroy versions, change metadata settings, or touch
# anything outside the secret/ mount.

# Write (create a path, or a new version with cas) and read back.
path "secret/data/*" {
  capabilities = ["create", "update", "read"]
}

# current_version for check-and-set, and listing to plan a directory.
path "secret/metadata/*" {
  capabilities = ["read", "list"]
}
