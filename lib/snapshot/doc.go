// Package snapshot holds vault-snap's domain: Vault raft snapshots saved
// atomically with a JSON manifest, verified offline as a stream, restored
// into a live server, drilled in a throwaway server, pruned by age classes,
// and reported as node_exporter textfile metrics.
//
// A snapshot file is kept exactly as Vault produced it: a gzip stream of a
// tar archive holding meta.json (the raft index, term and configuration),
// state.bin (the barrier-encrypted FSM state), SHA256SUMS (of those two)
// and SHA256SUMS.sealed (the same, sealed by the barrier).
package snapshot
