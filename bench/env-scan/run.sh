#!/usr/bin/env bash
# run.sh times env-scan against the gitleaks CLI on the same large tree with
# the same rules, and checks they report the same secrets.
#
# Usage: bench/env-scan/run.sh [ROUNDS]        (default 3)
#
# The tree is HashiCorp Vault v1.21.1's module source (~29 MB scanned),
# fetched into the Go module cache. gitleaks v8.30.1 is built the way its
# releases are (-tags gore2regex: RE2 compiled to WebAssembly) into
# bench/env-scan/.bin. env-scan is built twice: with the same gore2regex tag,
# and, when libre2-dev is installed, with gore2regex,re2_cgo (native RE2).
# Both tools use gitleaks' default rules and decode base64/hex/percent up to
# depth 5 (the gitleaks CLI default). Each round runs every tool once, in
# turn; medians of wall-clock and CPU (user+sys) seconds are compared as
# ratios. Findings are compared by file, line and rule (compare.py).
set -euo pipefail
name=bench-env-scan
die() { echo "$name: error: $*" >&2; exit 1; }
log() { echo "$name: $*" >&2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${1:-3}"
bin="$here/.bin"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export GOFLAGS=-mod=mod
mkdir -p "$bin"

gitleaks_version=v8.30.1
vault_version=v1.21.1

if [[ ! -x "$bin/gitleaks" || "$(cat "$bin/gitleaks.built" 2>/dev/null)" != "$gitleaks_version gore2regex" ]]; then
	log "building gitleaks $gitleaks_version with -tags gore2regex"
	(cd "$out" && GOBIN="$bin" go install -tags gore2regex "github.com/zricethezav/gitleaks/v8@$gitleaks_version")
	echo "$gitleaks_version gore2regex" >"$bin/gitleaks.built"
fi
log "building env-scan"
(cd "$root" && go build -trimpath -tags gore2regex -o "$bin/env-scan-wasm" ./cmd/env-scan)
tools=(gitleaks env-scan-wasm)
if pkg-config --exists re2 2>/dev/null; then
	(cd "$root" && go build -trimpath -tags gore2regex,re2_cgo -o "$bin/env-scan-native" ./cmd/env-scan)
	tools+=(env-scan-native)
else
	log "libre2-dev not installed: skipping the native-RE2 build of env-scan"
fi

modcache="$(go env GOMODCACHE)"
tree="$modcache/github.com/hashicorp/vault@$vault_version"
if [[ ! -d "$tree" ]]; then
	log "downloading github.com/hashicorp/vault@$vault_version into the module cache"
	(cd "$out" && go mod download "github.com/hashicorp/vault@$vault_version") || die "cannot download the Vault module"
fi
parent="$(dirname "$tree")"
base="$(basename "$tree")"

run() { # tool round
	local tool=$1 r=$2 t0 t1
	case $tool in
	gitleaks)
		/usr/bin/time -f "%e %U %S" -o "$out/$tool.$r.time" \
			"$bin/gitleaks" dir "$tree" --no-banner --log-level error --exit-code 0 \
			--report-format json --report-path "$out/gitleaks.json" >/dev/null 2>&1
		;;
	*)
		(cd "$parent" && ENV_SCAN_KEY=bench-fingerprint-key-000001 /usr/bin/time -f "%e %U %S" -o "$out/$tool.$r.time" \
			"$bin/$tool" --no-progress --format jsonl "$base" >"$out/$tool.jsonl" 2>/dev/null) || [[ $? == 3 ]]
		;;
	esac
}

for ((r = 1; r <= rounds; r++)); do
	for tool in "${tools[@]}"; do
		run "$tool" "$r"
	done
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A wall cpu
for tool in "${tools[@]}"; do
	wall[$tool]=$(tail -qn1 "$out/$tool".*.time | awk '{print $1}' | median)
	cpu[$tool]=$(tail -qn1 "$out/$tool".*.time | awk '{print $2+$3}' | median)
done

echo "tree: github.com/hashicorp/vault@$vault_version ($(du -sh "$tree" | cut -f1) on disk), $rounds rounds, $(nproc) CPUs"
printf '%-16s %10s %10s %12s %12s\n' tool wall_s cpu_s wall_ratio cpu_ratio
for tool in "${tools[@]}"; do
	printf '%-16s %10s %10s %12s %12s\n' "$tool" "${wall[$tool]}" "${cpu[$tool]}" \
		"$(awk -v g="${wall[gitleaks]}" -v t="${wall[$tool]}" 'BEGIN {printf "%.2fx", g/t}')" \
		"$(awk -v g="${cpu[gitleaks]}" -v t="${cpu[$tool]}" 'BEGIN {printf "%.2fx", g/t}')"
done
echo "(ratio = gitleaks time / tool time: above 1 means faster than gitleaks)"

status=0
for tool in "${tools[@]}"; do
	[[ $tool == gitleaks ]] && continue
	echo "findings, gitleaks vs $tool:"
	python3 "$here/compare.py" "$out/gitleaks.json" "$tree" "$out/$tool.jsonl" "$base" || status=1
done
exit $status
