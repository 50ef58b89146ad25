# vault-broker, run as root on the Vault host (acl/broker.hcl). It logs in
# once, at bootstrap, with a single-use secret_id an admin issues wrapped
# (vault-policy issue broker --wrap-ttl 10m); the token it gets is periodic:
# every renewal (hourly, vault-broker-renew.timer, and at each issue) gives
# it 72 hours again, with no maximum, so it outlives any weekend without a
# human. Host off for more than 72 hours: bootstrap it again.
policies = ["broker"]

token_period      = "72h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "1h"
secret_id_num_uses    = 1
secret_id_bound_cidrs = ["127.0.0.1/32"]
