#!/usr/bin/env bash
# Build a ≥ 1 GB audit log from a real Vault's lines and compare audit-filter
# with jq -c 'select(…)' on three filters, plain and .zst; prints Markdown
# rows for RESULTS.md. Needs jq, zstd and GNU time; ~3 GB free in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
export VAULT_BINARY="${VAULT_BINARY:-$(scripts/vault-binary)}"
exec go run ./bench/audit-filter "$@"
