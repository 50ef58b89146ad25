# The Dagster code location "analytics". Dagster runs on the Vault host, so
# both the secret_id and the tokens it buys work from loopback only; widen
# the CIDRs (e.g. to the Docker bridge) only if Dagster moves.
#
# A run logs in at start and renews while it lasts: 1 h tokens, at most 8 h
# per run. The secret_id sits in a 0600 file of the Dagster user on the
# host; logins are unlimited since every run logs in. vault-broker keeps the
# file (vault-broker-keep@dagster-analytics.timer, hourly): a new secret_id
# once the current one has less than 60 of its 72 hours left, the old one
# destroyed; an alert fires below 48 hours.
policies = ["dagster-analytics"]

token_ttl         = "1h"
token_max_ttl     = "8h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "72h"
secret_id_num_uses    = 0
secret_id_bound_cidrs = ["127.0.0.1/32"]
