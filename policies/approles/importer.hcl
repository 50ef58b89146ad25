# env-import, run by a person during a migration: a secret_id is issued for
# the session (vault-policy issue importer) and expires within the hour.
policies = ["importer"]

token_ttl         = "30m"
token_max_ttl     = "1h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "1h"
secret_id_num_uses    = 0
secret_id_bound_cidrs = ["127.0.0.1/32"]
