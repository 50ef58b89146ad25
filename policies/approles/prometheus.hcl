# Prometheus on the Vault host scraping /v1/sys/metrics (acl/prometheus.hcl).
# A small timer logs in every hour and writes the token to Prometheus's
# bearer_token_file; the secret_id lasts 8 days (192 logins, hourly) and is
# re-issued weekly by admin (policies/README.md, "Re-issuing secret_ids").
policies = ["prometheus"]

token_ttl         = "2h"
token_max_ttl     = "2h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "192h"
secret_id_num_uses    = 200
secret_id_bound_cidrs = ["127.0.0.1/32"]
