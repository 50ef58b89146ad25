# A person (or audit-filter) reviewing how Vault is audited. Short-lived:
# issue a secret_id for the review; it expires within a day.
policies = ["auditor"]

token_ttl         = "1h"
token_max_ttl     = "4h"
token_bound_cidrs = ["127.0.0.1/32"]

secret_id_ttl         = "24h"
secret_id_num_uses    = 0
secret_id_bound_cidrs = ["127.0.0.1/32"]
