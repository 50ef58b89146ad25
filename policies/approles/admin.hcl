# The human operator (acl/admin.hcl). A secret_id is issued for a shift by
# policy-sync (vault-policy issue admin) to a 0600 file; it lives a day and
# logs in at most 20 times (each tool run logs in once). Tokens last an
# hour, renewable to eight. Logins come from the Vault host.
policies = ["admin"]

token_ttl         = "1h"
token_max_ttl     = "8h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "24h"
secret_id_num_uses    = 20
secret_id_bound_cidrs = ["127.0.0.1/32"]
