#!/usr/bin/env bash
# vault-snap save vs `vault operator raft snapshot save` on one Vault with
# 10,000 secrets, drill end to end, and peak RSS of save and verify on a
# 1 GiB synthetic snapshot; prints one JSON document (~3 min, 2 GiB of /tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go run ./bench/vault-snap "$@"
