# vault-rotate, run daily by its systemd timer on the Vault host. Each run
# gets its own secret_id from vault-broker right before it starts
# (vault-broker@rotator.service): wrapped, one login, 10 minutes. The role's
# limits below bound what an admin issues by hand for a session (an hour,
# 10 logins); nobody re-issues anything on a schedule.
policies = ["rotator"]

token_ttl         = "15m"
token_max_ttl     = "1h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "1h"
secret_id_num_uses    = 10
secret_id_bound_cidrs = ["127.0.0.1/32"]
