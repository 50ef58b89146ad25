# vault-rotate, run daily by its systemd timer on the Vault host. The
# secret_id lives in a 0600 credentials file; it expires after 8 days and 10
# logins (daily runs, retries, a manual run or two) and is re-issued weekly
# by admin (policies/README.md, "Re-issuing secret_ids"). A stolen copy is
# good for days, not months, and only from this host.
policies = ["rotator"]

token_ttl         = "15m"
token_max_ttl     = "1h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "192h"
secret_id_num_uses    = 10
secret_id_bound_cidrs = ["127.0.0.1/32"]
