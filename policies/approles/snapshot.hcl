# vault-snap, run daily by its systemd timer on the Vault host. A large
# snapshot can take minutes to stream: 30 m tokens, renewable to 2 h.
policies = ["snapshot"]

token_ttl         = "30m"
token_max_ttl     = "2h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "2160h"
secret_id_num_uses    = 0
secret_id_bound_cidrs = ["127.0.0.1/32"]
