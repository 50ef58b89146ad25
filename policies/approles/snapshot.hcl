# vault-snap, run daily by its systemd timer on the Vault host. A large
# snapshot can take minutes to stream: 30 m tokens, renewable to 2 h. Each
# run gets its own secret_id from vault-broker right before it starts
# (vault-broker@snapshot.service): wrapped, one login, 10 minutes. The
# role's limits bound what an admin issues by hand (an hour, 10 logins).
policies = ["snapshot"]

token_ttl         = "30m"
token_max_ttl     = "2h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "1h"
secret_id_num_uses    = 10
secret_id_bound_cidrs = ["127.0.0.1/32"]
