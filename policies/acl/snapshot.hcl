# snapshot: the identity vault-snap runs as from its daily timer (AppRole
# approles/snapshot.hcl). It may take raft snapshots and nothing else:
# restoring one (sys/storage/raft/snapshot-force) is an admin's decision.
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
