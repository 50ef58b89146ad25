# The Dagster code location "analytics". Dagster runs on the Vault host, so
# both the secret_id and the tokens it buys work from loopback only; widen
# the CIDRs (e.g. to the Docker bridge) only if Dagster moves.
#
# A run logs in at start and renews while it lasts: 1 h tokens, at most 8 h
# per run. The secret_id sits in a 0600 file on the host and is reissued
# monthly (vault-policy issue dagster-analytics); logins are unlimited since
# every run logs in.
policies = ["dagster-analytics"]

token_ttl         = "1h"
token_max_ttl     = "8h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "720h"
secret_id_num_uses    = 0
secret_id_bound_cidrs = ["127.0.0.1/32"]
