#!/usr/bin/env bash
# Import 1,000 keys as 1,000 paths with env-import and with a shell loop of
# `vault kv put` (values on stdin) against one real Vault; print the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go run ./bench/env-import "$@"
