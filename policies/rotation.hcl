# The rotation policy: which secrets of the KV v2 mount rotate, how often,
# when, how a new value is made, and the hooks that install and prove it.
# `vault-rotate lint` checks this file, that acl/rotator.hcl lets the rotator
# write every path named here, and that every secret is covered by a rule or
# exempted with a reason. See lib/rotation for the two-phase rotation itself.
#
#   defaults { ... }          mount, grace, hook_timeout, keep_versions, lease
#   class "NAME" { period }   default period per class (built in: database and
#                             api_key 90d, other 365d)
#   secret "PATH" { ... }     PATH under the mount; a trailing /* covers a tree
#     key            the field that rotates (default "value")
#     class, period  "90d", "365d", "12h", or a calendar: daily, weekly,
#                    monthly, "Sun *-*-* 03:00" (UTC, as systemd.time(7))
#     window { weekdays = ["Mon..Fri"], hours = "02:00-05:00" }
#     generate { length = 32, alphabet = "alnum", require = ["lower", "upper", "digit"] }
#     generate { command = ["/usr/local/lib/vault-rotate/new-api-key"] }
#     set  { command = [...], timeout = "30s" }   the target accepts the new value
#     test { command = [...], timeout = "30s" }   the new value works
#     grace, keep_versions
#   database "ROLE" { ... }   a PostgreSQL user rotated by Vault's database
#                             secrets engine (static role), or two users used
#                             in turn (strategy = "alternate", path = KV secret)
#   exempt "GLOB" { reason }  secrets that need no rotation
#
# Hooks read one JSON request on stdin ({"action", "path", "key", "value",
# "current_value", "rotation_id"}) and answer {"ok": true} on stdout; they
# never get a value in argv or their environment.

defaults {
  mount         = "secret"
  grace         = "7d"
  hook_timeout  = "60s"
  keep_versions = 20
}

# The analytics code location's API key for its upstream provider.
secret "analytics/api" {
  key   = "token"
  class = "api_key"
  generate {
    length  = 40
    alphabet = "alnum"
    require = ["lower", "upper", "digit"]
  }
}

# Everything else the analytics code location holds rotates yearly.
secret "analytics/*" {
  key   = "value"
  class = "other"
}
