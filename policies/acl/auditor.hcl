# auditor: read-only view of how Vault audits itself (AppRole
# approles/auditor.hcl): which audit devices are enabled, which request
# headers they record, and the HMAC of a value as an audit device would log
# it — so "who read what" questions can be answered with audit-filter
# without ever seeing a secret. It cannot enable or disable a device.

# Listing audit devices is root-protected in Vault: sudo on this one exact
# path, not on sys/audit/* (which would allow disabling them).
path "sys/audit" {
  capabilities = ["read", "sudo"]
}

# Compute the audit HMAC of a value for device +, to search the logs for it.
path "sys/audit-hash/+" {
  capabilities = ["update"]
}

# Request headers the audit devices record (also root-protected).
path "sys/config/auditing/request-headers" {
  capabilities = ["read", "sudo"]
}
