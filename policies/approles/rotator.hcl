# vault-rotate, run daily by its systemd timer on the Vault host. The
# secret_id lives in a 0600 credentials file and is reissued every 90 days.
policies = ["rotator"]

token_ttl         = "15m"
token_max_ttl     = "1h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "2160h"
secret_id_num_uses    = 0
secret_id_bound_cidrs = ["127.0.0.1/32"]
