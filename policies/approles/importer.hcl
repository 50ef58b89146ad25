# env-import, run by a person during a migration: a secret_id is issued for
# the session (vault-policy issue importer, by admin) and expires within the
# hour, after at most 10 logins (each plan and apply logs in once).
policies = ["importer"]

token_ttl         = "30m"
token_max_ttl     = "1h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "1h"
secret_id_num_uses    = 10
secret_id_bound_cidrs = ["127.0.0.1/32"]
