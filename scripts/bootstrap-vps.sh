#!/usr/bin/env bash
# bootstrap-vps.sh turns a fresh Debian or Ubuntu VPS into a hardened Vault
# host, in order: swap off, firewall advice, install, initialise, unseal,
# bootstrap (root token revoked), vaultpipe's tools and units, health check.
#
# Usage (as root, from a checkout of vaultpipe with bin/ built):
#
#   scripts/bootstrap-vps.sh --pgp-key alice.asc --pgp-key bob.asc --pgp-key carol.asc \
#       --root-token-pgp-key alice.asc --key-shares 3 --key-threshold 2 [other vault-install apply flags]
#
# --enable UNIT (repeatable) enables and starts one of systemd/'s units
# (e.g. a timer) once it is installed; the others are installed only.
# Every other argument goes to `vault-install apply`. Key shares and the root
# token are read from the terminal without echo (or, without a terminal, one
# per line from stdin: the shares first, then the root token) and never appear
# in argv, in the environment of other processes, or on stdout.
#
# Unattended (nobody at a terminal, e.g. from a provisioning tool or a test),
# two commands yield the decrypted secrets on their stdout instead:
#
#   --shares-from CMD      run as `bash -c CMD _ N` for share N = 0, 1, … until
#                          Vault is unsealed; it prints the decrypted share N
#                          (exit non-zero: that holder is unavailable, the next
#                          share is asked for)
#   --root-token-from CMD  run as `bash -c CMD`; it prints the decrypted root token
#
# Both run with VAULT_INIT_FILE set to the init file. With the holders' keys in
# root's GnuPG keyring (or behind an ssh to each holder), for example:
#
#   scripts/bootstrap-vps.sh --key-shares 3 --key-threshold 2 \
#       --pgp-key alice.asc --pgp-key bob.asc --pgp-key carol.asc --root-token-pgp-key alice.asc \
#       --shares-from 'jq -r ".unseal_shares[$1].encrypted_share_b64" "$VAULT_INIT_FILE" | base64 -d | gpg -dq --batch' \
#       --root-token-from 'jq -r .root_token.encrypted_b64 "$VAULT_INIT_FILE" | base64 -d | gpg -dq --batch'
#
# A second run on a converged host changes nothing (and asks for no secret).
set -euo pipefail

name=bootstrap-vps
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATH="$here/bin:$PATH"
export VAULT_ADDR="${VAULT_ADDR:-https://127.0.0.1:8200}"
export VAULT_CACERT="${VAULT_CACERT:-/usr/local/share/vaultpipe/vault-ca.pem}"

say() { echo "$name: $*" >&2; }
die() { echo "$name: error: $*" >&2; exit 1; }

shares_from= token_from= args=() enable=()
while (($#)); do
	case $1 in
	--shares-from) (($# >= 2)) || die "--shares-from needs a command"; shares_from=$2; shift 2 ;;
	--shares-from=*) shares_from=${1#*=}; shift ;;
	--root-token-from) (($# >= 2)) || die "--root-token-from needs a command"; token_from=$2; shift 2 ;;
	--root-token-from=*) token_from=${1#*=}; shift ;;
	--enable) (($# >= 2)) || die "--enable needs a unit"; enable+=("$2"); shift 2 ;;
	--enable=*) enable+=("${1#*=}"); shift ;;
	*) args+=("$1"); shift ;;
	esac
done
set -- "${args[@]}"
# vault-install writes the init file under --root (default /).
root=/
for ((i = 1; i <= $#; i++)); do
	case ${!i} in
	--root) j=$((i + 1)); root=${!j} ;;
	--root=*) root=${!i#*=} ;;
	esac
done
export VAULT_INIT_FILE="${root%/}/etc/vault.d/vault-init.json"

[[ $EUID -eq 0 ]] || die "run as root (it creates the vault user, writes /etc and starts systemd units)"
command -v vault-install >/dev/null || die "vault-install is not on PATH; run 'make build' first"
compgen -G "$here/policies/acl/*.hcl" >/dev/null || die "no policies in $here/policies/acl"

# 1. Swap off: Vault keeps decrypted secrets in memory, and with raft
# storage mlock is disabled, so the only guard against paging them to disk
# is having no swap at all (the unit also sets MemorySwapMax=0).
# In a container (an LXC/OpenVZ VPS, a test box) the swap is the host's:
# say so and leave it alone.
if systemd-detect-virt --container --quiet 2>/dev/null; then
	[[ -z "$(swapon --show --noheadings 2>/dev/null)" ]] ||
		say "warning: in a container with swap on the host; ask the provider for a host without swap"
elif [[ -n "$(swapon --show --noheadings 2>/dev/null)" ]]; then
	say "turning swap off (and commenting it out of /etc/fstab; backup in /etc/fstab.vaultpipe.bak)"
	swapoff -a
	cp -n /etc/fstab /etc/fstab.vaultpipe.bak
	sed -i -E 's|^([^#].*[[:space:]]swap[[:space:]].*)$|# disabled for vault: \1|' /etc/fstab
fi

# 2. Firewall: advice only. Changing rules from a script over SSH is how
# hosts get locked out; the operator applies them knowingly.
say "firewall: allow 8200/tcp only from your team and pipeline hosts, 8201/tcp only from raft peers, e.g."
say "  ufw allow from 203.0.113.0/24 to any port 8200 proto tcp && ufw allow OpenSSH && ufw enable"

# 3. Install and 4. initialise. Exit 4 means initialised (or restarted) and
# sealed, which is the expected state here.
rc=0
vault-install apply --policies "$here/policies" "$@" >/dev/null || rc=$?
case $rc in
0) say "vault is already converged" ;;
4) ;;
*) die "vault-install apply failed (exit $rc)" ;;
esac

read_secret() { # prompt var
	if [[ -t 0 ]]; then
		IFS= read -rs -p "$1" "$2"
		echo >&2
	else
		IFS= read -r "$2"
	fi
}

# 5. Unseal: share holders decrypt their share (jq -r '.unseal_shares[N].encrypted_share_b64'
# /etc/vault.d/vault-init.json | base64 -d | gpg -dq) and type it here, or
# --shares-from yields them. A share goes to vault-install on its stdin only.
n=0
while [[ $rc -eq 4 ]]; do
	if [[ -n $shares_from ]]; then
		[[ -f $VAULT_INIT_FILE ]] || die "no init file $VAULT_INIT_FILE to take shares from"
		total=$(jq -r '.unseal_shares | length' "$VAULT_INIT_FILE") || die "reading $VAULT_INIT_FILE"
		((n < total)) || die "--shares-from yielded no more shares (tried $n) and vault is still sealed"
		n=$((n + 1))
		if ! share=$(bash -c "$shares_from" _ "$((n - 1))"); then
			say "share $((n - 1)) is unavailable (--shares-from failed); asking for the next"
			continue
		fi
		say "unsealing with share $((n - 1)) (--shares-from)"
		rc=0
		printf '%s\n' "$share" | vault-install unseal >/dev/null 2>&1 || rc=$?
		unset share
		[[ $rc -eq 0 || $rc -eq 4 ]] || die "unsealing failed (exit $rc)"
		continue
	fi
	read_secret "decrypted key share: " share || die "no more shares and vault is still sealed"
	rc=0
	printf '%s\n' "$share" | vault-install unseal >/dev/null || rc=$?
	unset share
	[[ $rc -eq 0 || $rc -eq 4 ]] || die "unsealing failed (exit $rc)"
done

# 6. Bootstrap with the root token (jq -r .root_token.encrypted_b64
# /etc/vault.d/vault-init.json | base64 -d | gpg -dq), then revoke it.
rc=0
vault-install apply --policies "$here/policies" "$@" >/dev/null 2>&1 || rc=$?
if [[ $rc -eq 3 ]]; then
	tokfile="$(mktemp /run/vault-root-token.XXXXXX)" # tmpfs, 0600
	trap 'shred -u "$tokfile" 2>/dev/null || rm -f "$tokfile"' EXIT
	if [[ -n $token_from ]]; then
		bash -c "$token_from" >"$tokfile" || die "--root-token-from failed"
	else
		read_secret "decrypted root token: " token
		printf '%s\n' "$token" >"$tokfile"
		unset token
	fi
	vault-install apply --policies "$here/policies" --token-file "$tokfile" "$@"
elif [[ $rc -ne 0 ]]; then
	die "vault-install apply failed (exit $rc)"
fi

# 7. vaultpipe's tools into /usr/local/bin (the units run them from there)
# and its units into /etc/systemd/system (vault.service is vault-install's);
# only vault.service and those named with --enable are enabled and started.
changed=0
for f in "$here"/bin/*; do
	[[ -f $f && -x $f && ${f##*/} != vault ]] || continue
	cmp -s "$f" "/usr/local/bin/${f##*/}" && continue
	install -m 0755 "$f" "/usr/local/bin/${f##*/}"
	say "installed /usr/local/bin/${f##*/}"
done
for f in "$here"/systemd/*.service "$here"/systemd/*.timer; do
	[[ -f $f && ${f##*/} != vault.service ]] || continue
	cmp -s "$f" "/etc/systemd/system/${f##*/}" && continue
	install -m 0644 "$f" "/etc/systemd/system/${f##*/}"
	say "installed /etc/systemd/system/${f##*/}"
	changed=1
done
((changed == 0)) || systemctl daemon-reload
# The jobs write node_exporter textfile metrics as their own (dynamic) users:
# a group of their own may write the directory, nobody else.
getent group vaultpipe-metrics >/dev/null || { groupadd --system vaultpipe-metrics; say "created group vaultpipe-metrics"; }
install -d -m 2775 -o root -g vaultpipe-metrics /var/lib/prometheus/node-exporter
for u in "${enable[@]}"; do
	systemctl is-enabled --quiet "$u" && systemctl is-active --quiet "$u" && continue
	systemctl enable --now "$u"
	say "enabled and started $u"
done

# 8. Health.
vault-health --wait 30s
say "done: clients use VAULT_ADDR=$VAULT_ADDR VAULT_CACERT=$VAULT_CACERT; keep /etc/vault.d/vault-init.json offline too"
