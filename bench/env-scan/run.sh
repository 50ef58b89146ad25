#!/usr/bin/env bash
# run.sh times env-scan against the gitleaks CLI on the same trees with the
# same rules, in every build of env-scan a user can get, and checks that
# each build reports the same secrets as gitleaks.
#
# Usage: bench/env-scan/run.sh [ROUNDS]        (default 3)
#
# Trees, each scanned by every tool:
#   vault       HashiCorp Vault v1.21.1's module source (Go, JS, HCL, docs)
#   prometheus  Prometheus v3.8.1's module source, github.com/prometheus/
#               prometheus@v0.308.1 (Go, TypeScript, YAML, docs, test data)
#   pre-commit  ten small files (1–6 kB) taken from the Vault tree, the size
#               of a pre-commit run: what start-up costs
# Both large trees come from the Go module cache (`go mod download` fetches
# them when absent).
#
# Tools: gitleaks v8.30.1 built the way its releases are (-tags gore2regex:
# RE2 compiled to WebAssembly), and env-scan built three ways into
# bench/env-scan/.bin:
#   env-scan-go      no tags: Go's regexp (what `go install` and
#                    pre-commit's `language: golang` hook build)
#   env-scan-wasm    -tags gore2regex: RE2 compiled to WebAssembly
#   env-scan-native  -tags gore2regex,re2_cgo: native RE2 via cgo (skipped,
#                    with a note, when libre2-dev is not installed)
# Both tools use gitleaks' default rules and decode base64/hex/percent up to
# depth 5 (the gitleaks CLI default).
#
# Each round runs every tool once, in turn, on one tree; the rounds of a tree
# run back to back, with the machine's load (uptime) printed before and
# after. Medians of wall-clock and CPU (user+sys) seconds, from
# /usr/bin/time, are compared as ratios: gitleaks' time / the tool's time,
# so above 1 means faster than gitleaks. The goals: at least 1.50x on the
# large trees, at least 2.00x (half gitleaks' time) on the pre-commit run.
#
# The findings of every build are compared with gitleaks' on every tree by
# file, line and rule (compare.py, which never prints a secret value). The
# exit status is 1 when any build differs from gitleaks anywhere; the rows
# that differ are printed after the tables.
set -euo pipefail
name=bench-env-scan
die() { echo "$name: error: $*" >&2; exit 1; }
log() { echo "$name: $*" >&2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${1:-3}"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds' (usage: $0 [ROUNDS])"
(($# <= 1)) || die "too many arguments (usage: $0 [ROUNDS])"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package: time)"
command -v python3 >/dev/null || die "python3 is missing"
bin="$here/.bin"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# gitleaks would take its rules from here instead of its defaults
unset GITLEAKS_CONFIG GITLEAKS_CONFIG_TOML
mkdir -p "$bin"

gitleaks_version=v8.30.1
vault_module=github.com/hashicorp/vault@v1.21.1
prometheus_module=github.com/prometheus/prometheus@v0.308.1 # Prometheus v3.8.1

# --- builds
if [[ ! -x "$bin/gitleaks" || "$(cat "$bin/gitleaks.built" 2>/dev/null)" != "$gitleaks_version gore2regex" ]]; then
	log "building gitleaks $gitleaks_version with -tags gore2regex"
	(cd "$out" && GOBIN="$bin" go install -tags gore2regex "github.com/zricethezav/gitleaks/v8@$gitleaks_version") ||
		die "cannot build gitleaks $gitleaks_version"
	echo "$gitleaks_version gore2regex" >"$bin/gitleaks.built"
fi
declare -A tags=([gitleaks]=gore2regex [env-scan-go]="(none)" [env-scan-wasm]=gore2regex [env-scan-native]=gore2regex,re2_cgo)
tools=(gitleaks env-scan-go env-scan-wasm)
notes=()
if pkg-config --exists re2 2>/dev/null; then
	tools+=(env-scan-native)
else
	notes+=("env-scan-native skipped: libre2-dev is not installed (pkg-config re2)")
	log "libre2-dev not installed: skipping the native-RE2 build of env-scan"
fi
for tool in "${tools[@]}"; do
	[[ $tool == gitleaks ]] && continue
	log "building $tool (tags: ${tags[$tool]})"
	t=${tags[$tool]}
	[[ $t == "(none)" ]] && t=""
	(cd "$root" && go build -trimpath -tags "$t" -o "$bin/$tool" ./cmd/env-scan) || die "cannot build $tool"
done

# --- trees
modcache="$(go env GOMODCACHE)"
module_dir() { # module@version: its directory in the module cache, downloaded when absent
	local dir="$modcache/$1"
	if [[ ! -d "$dir" ]]; then
		log "downloading $1 into the module cache"
		(cd "$out" && go mod download "$1") || die "cannot download $1"
	fi
	[[ -d "$dir" ]] || die "$1 is not in the module cache after go mod download"
	echo "$dir"
}
vault_dir="$(module_dir "$vault_module")"
prometheus_dir="$(module_dir "$prometheus_module")"

# The pre-commit run: ten source files of 1–6 kB from the Vault tree, the
# same ten every time (sorted by path, evenly spaced), copied with their
# relative paths. None from ui/vendor, which env-scan skips when it walks a
# directory and gitleaks does not.
small="$out/pre-commit"
mkdir -p "$small"
mapfile -t picks < <(cd "$vault_dir" && find . -type f \
	\( -name '*.go' -o -name '*.js' -o -name '*.ts' -o -name '*.hcl' -o -name '*.sh' \
	-o -name '*.py' -o -name '*.yaml' -o -name '*.yml' -o -name '*.md' \) \
	-not -path './ui/vendor/*' -printf '%s %P\n' |
	awk '{s = $1; sub(/^[0-9]+ /, "")} s >= 1024 && s <= 6144' | LC_ALL=C sort |
	awk '{a[NR] = $0} END {if (NR >= 10) for (i = 0; i < 10; i++) print a[int(i * NR / 10) + 1]}')
((${#picks[@]} == 10)) || die "fewer than ten source files of 1–6 kB in $vault_dir"
(cd "$vault_dir" && cp --parents "${picks[@]}" "$small/")
chmod -R u+w "$small"

trees=(vault prometheus pre-commit)
declare -A tree_dir=([vault]="$vault_dir" [prometheus]="$prometheus_dir" [pre-commit]="$small")
declare -A tree_what=(
	[vault]="$vault_module, module source"
	[prometheus]="$prometheus_module (Prometheus v3.8.1), module source"
	[pre-commit]="ten files of 1–6 kB from $vault_module"
)
declare -A goal=([vault]=1.50 [prometheus]=1.50 [pre-commit]=2.00)

# --- runs
run() { # tree tool round
	local tree=$1 tool=$2 r=$3 dir=${tree_dir[$1]} rc=0
	local t="$out/$tree.$tool.$r.time" err="$out/$tree.$tool.err"
	case $tool in
	gitleaks)
		/usr/bin/time -f "%e %U %S" -o "$t" \
			"$bin/gitleaks" dir "$dir" --no-banner --log-level error --exit-code 0 \
			--report-format json --report-path "$out/$tree.gitleaks.json" >/dev/null 2>"$err" || rc=$?
		((rc == 0)) || die "gitleaks on $tree exited $rc: $(tail -n3 "$err")"
		;;
	*)
		(cd "$(dirname "$dir")" && VAULTPIPE_SCAN_KEY=bench-fingerprint-key-000001 /usr/bin/time -f "%e %U %S" -o "$t" \
			"$bin/$tool" --no-progress --format jsonl "$(basename "$dir")" >"$out/$tree.$tool.jsonl" 2>"$err") || rc=$?
		# 3: findings reported
		((rc == 0 || rc == 3)) || die "$tool on $tree exited $rc: $(tail -n3 "$err")"
		;;
	esac
}

load() { uptime | sed 's/.*load average: *//'; }
median() { # of numbers, one a line; of an even count, the lower middle one
	sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# a Markdown table, aligned: it reads as plain text and pastes into a README
row='| %-15s | %-18s | %6s | %6s | %10s | %9s | %-8s | %8s | %-6s |\n'
sep() { # width [r]: a column's separator cell, right-aligned with r
	local n=$(($1 + 2)) end=""
	[[ ${2:-} == r ]] && n=$((n - 1)) end=:
	printf -- '-%.0s' $(seq "$n")
	printf %s "$end"
}
ratio() { awk -v g="$1" -v t="$2" 'BEGIN {if (t > 0) printf "%.2fx", g/t; else print "-"}'; }

log "$rounds round(s) on each of: ${trees[*]}; tools: ${tools[*]}"
echo "env-scan vs gitleaks $gitleaks_version: $rounds round(s), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "env-scan at $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$root" && git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
status=0
differs=()
for tree in "${trees[@]}"; do
	dir=${tree_dir[$tree]}
	before=$(load)
	log "$tree: $rounds round(s)"
	for ((r = 1; r <= rounds; r++)); do
		for tool in "${tools[@]}"; do
			run "$tree" "$tool" "$r"
		done
	done
	after=$(load)

	declare -A wall=() cpu=() found=() same=()
	for tool in "${tools[@]}"; do
		wall[$tool]=$(for f in "$out/$tree.$tool".*.time; do tail -n1 "$f"; done | awk '{print $1}' | median)
		cpu[$tool]=$(for f in "$out/$tree.$tool".*.time; do tail -n1 "$f"; done | awk '{printf "%.2f\n", $2+$3}' | median)
	done
	found[gitleaks]=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/$tree.gitleaks.json")
	same[gitleaks]="-"
	for tool in "${tools[@]}"; do
		[[ $tool == gitleaks ]] && continue
		cmp="$out/$tree.$tool.compare"
		if python3 "$here/compare.py" "$out/$tree.gitleaks.json" "$dir" "$out/$tree.$tool.jsonl" "$(basename "$dir")" >"$cmp"; then
			same[$tool]=yes
		else
			same[$tool]=NO
			status=1
			differs+=("$tree.$tool")
		fi
		found[$tool]=$(awk '/^env-scan findings:/ {print $3}' "$cmp")
	done

	echo
	echo "### $tree: ${tree_what[$tree]}"
	echo "$(find "$dir" -type f -printf '%s\n' | awk '{n++; b += $1} END {
		if (b >= 1e6) printf "%d files, %.1f MB", n, b / 1e6; else printf "%d files, %.1f kB", n, b / 1e3}'); load average before: $before, after: $after"
	echo "goal: wall ratio >= ${goal[$tree]}x"
	echo
	printf "$row" tool tags "wall s" "CPU s" "wall ratio" "CPU ratio" goal findings same
	echo "|$(sep 15)|$(sep 18)|$(sep 6 r)|$(sep 6 r)|$(sep 10 r)|$(sep 9 r)|$(sep 8)|$(sep 8 r)|$(sep 6)|"
	for tool in "${tools[@]}"; do
		wr=$(ratio "${wall[gitleaks]}" "${wall[$tool]}")
		met=-
		if [[ $tool != gitleaks ]]; then
			met=$(awk -v g="${wall[gitleaks]}" -v t="${wall[$tool]}" -v want="${goal[$tree]}" \
				'BEGIN {print (t > 0 && g / t >= want) ? "met" : "not met"}')
		fi
		printf "$row" "$tool" "${tags[$tool]}" \
			"${wall[$tool]}" "${cpu[$tool]}" "$wr" "$(ratio "${cpu[gitleaks]}" "${cpu[$tool]}")" \
			"$met" "${found[$tool]}" "${same[$tool]}"
	done
	if ((${#notes[@]})); then
		printf "$row" env-scan-native "${tags[env-scan-native]}" - - - - skipped - -
		echo
		for n in "${notes[@]}"; do echo "$n"; done
	fi
	unset wall cpu found same
done
echo
echo "ratio = gitleaks' median time / the tool's (above 1: faster than gitleaks); CPU = user+sys;"
echo "findings = secrets reported; same = the same file/line/rule set as gitleaks (compare.py)"

for d in "${differs[@]}"; do
	echo
	echo "findings differ, ${d%%.*} tree, gitleaks vs ${d#*.} (file, line, rule):"
	cat "$out/$d.compare"
done
exit $status
