# snapshot: the identity vault-snap runs as from its daily timer (AppRole
# approles/snapshot.hcl). It may take raft snapshots (and count what they hold); nothing else:
# restoring one is break-glass: a root token from the generate-root quorum.
#
# A snapshot holds every secret, encrypted by the barrier; vault-snap keeps
# the files 0600.

path "sys/storage/raft/snapshot" {
  capabilities = ["read"]
}

# Cluster membership, recorded in the snapshot manifest.
path "sys/storage/raft/configuration" {
  capabilities = ["read"]
}

# The manifest counts the KV secrets per mount, so a drill can tell a
# restore brought them all back: mount types, and secret names — never
# values or metadata.
path "sys/mounts" {
  capabilities = ["read"]
}

path "secret/metadata/*" {
  capabilities = ["list"]
}
