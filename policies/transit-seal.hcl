# transit-seal: the token a vaultpipe node's seal "transit" uses on the
# transit Vault (docs/runbooks/transit-unseal.md). Encrypt and decrypt with
# the one key, nothing else: no key export, no rotation, no reading other
# keys. Apply it on the TRANSIT Vault (not the node it unseals), with the
# key name changed if --transit-key is not vault-unseal:
#
#   vault policy write transit-seal policies/transit-seal.hcl
#   vault token create -orphan -policy=transit-seal -period=24h \
#       -display-name=vault-seal-<node> -field=token > transit-token
#
# The token is periodic: the seal renews it itself, and it never expires
# while the node runs at least once per period. It also carries the default
# policy, so it can look itself up (monitoring its TTL).
path "transit/encrypt/vault-unseal" {
  capabilities = ["update"]
}

path "transit/decrypt/vault-unseal" {
  capabilities = ["update"]
}
