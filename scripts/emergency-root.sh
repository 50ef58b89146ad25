#!/usr/bin/env bash
# emergency-root.sh makes a new root token after vault-install revoked the
# first one, through Vault's generate-root flow: a quorum of unseal-share
# holders approves, and the new token comes out encrypted to one PGP key.
# See docs/runbooks/emergency-root.md.
#
# Usage:
#
#   emergency-root.sh start PGP_PUBLIC_KEY   begin an attempt; prints the nonce
#   emergency-root.sh submit NONCE           one share holder: type the decrypted
#                                            share (no echo; or one line on stdin)
#   emergency-root.sh status                 progress of the attempt
#   emergency-root.sh cancel                 abandon the attempt
#
# When the last share is in, stdout carries encoded_token: the root token
# encrypted to PGP_PUBLIC_KEY, base64. Decrypt it into a private HOME, never
# into an environment variable, use it, and revoke it:
#   umask 077; d=$(mktemp -d /run/vault-root.XXXXXX)
#   base64 -d <<<"$encoded" | gpg -dq >"$d/.vault-token"
#   HOME=$d vault …; HOME=$d vault token revoke -self; shred -u "$d/.vault-token"
#
# Shares are passed to vault on stdin, never in argv. VAULT_ADDR and
# VAULT_CACERT select the server (default: this host's vault-install setup).
set -euo pipefail

name=emergency-root
export VAULT_ADDR="${VAULT_ADDR:-https://127.0.0.1:8200}"
export VAULT_CACERT="${VAULT_CACERT:-/usr/local/share/vaultpipe/vault-ca.pem}"
unset VAULT_TOKEN # generate-root needs none, and a stray root token is the thing we avoid

die() { echo "$name: error: $*" >&2; exit "${2:-1}"; }
usage() { die "usage: $name start PGP_PUBLIC_KEY | submit NONCE | status | cancel" 2; }
command -v vault >/dev/null || die "the vault CLI is not on PATH"

[[ $# -ge 1 ]] || usage
cmd=$1
shift
case $cmd in
start)
	[[ $# -eq 1 && -f $1 ]] || usage
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	# vault wants a binary or base64 key; an armored one is de-armored first.
	if grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$1"; then
		command -v gpg >/dev/null || die "gpg is needed to de-armor $1"
		gpg --dearmor <"$1" >"$work/key.gpg"
	else
		cp "$1" "$work/key.gpg"
	fi
	vault operator generate-root -init -pgp-key="$work/key.gpg" -format=json |
		jq '{nonce, started, progress, required, pgp_fingerprint}'
	;;
submit)
	[[ $# -eq 1 ]] || usage
	if [[ -t 0 ]]; then
		IFS= read -rs -p "decrypted unseal key share: " share
		echo >&2
	else
		IFS= read -r share
	fi
	[[ -n $share ]] || die "empty share"
	printf '%s\n' "$share" | vault operator generate-root -nonce="$1" -format=json - |
		jq '{nonce, progress, required, complete, encoded_token: (.encoded_token // .encoded_root_token // "")}'
	unset share
	;;
status) vault operator generate-root -status -format=json | jq '{nonce, started, progress, required, complete}' ;;
cancel) vault operator generate-root -cancel >/dev/null && echo '{"canceled": true}' ;;
*) usage ;;
esac
