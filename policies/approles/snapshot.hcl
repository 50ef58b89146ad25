# vault-snap, run daily by its systemd timer on the Vault host. A large
# snapshot can take minutes to stream: 30 m tokens, renewable to 2 h. The
# secret_id expires after 8 days and 10 logins and is re-issued weekly by
# admin (policies/README.md, "Re-issuing secret_ids").
policies = ["snapshot"]

token_ttl         = "30m"
token_max_ttl     = "2h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "192h"
secret_id_num_uses    = 10
secret_id_bound_cidrs = ["127.0.0.1/32"]
