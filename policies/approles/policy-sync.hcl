# vault-policy sync, check and issue — the one identity that changes access
# control, and so root-equivalent (acl/policy-sync.hcl says why). It is used
# from a reviewed checkout of policies/, for one change session at a time:
# a secret_id lives 8 hours and logs in at most 10 times (sync, check and a
# few issues). The next one is issued by a holder of a valid one
# (vault-policy issue policy-sync --wrap-ttl 10m) or, when none is left, by
# a root token from the generate-root quorum (docs/runbooks/emergency-root.md).
policies = ["policy-sync"]

token_ttl         = "15m"
token_max_ttl     = "1h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "8h"
secret_id_num_uses    = 10
secret_id_bound_cidrs = ["127.0.0.1/32"]
