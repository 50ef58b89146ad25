# prometheus: the identity Prometheus scrapes Vault's telemetry with
# (AppRole approles/prometheus.hcl; the token goes in its
# bearer_token_file). It reads sys/metrics and nothing else.
path "sys/metrics" {
  capabilities = ["read"]
}
