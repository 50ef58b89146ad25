"""Exception classes raised by dagster-vault, and the one place Vault and
transport failures are mapped onto them.

Every message names the Vault path (or address) and never a secret value;
``hint`` says what to do about it.
"""

from __future__ import annotations

import hvac.exceptions
import requests


class VaultError(Exception):
    """Base class of every error dagster-vault raises."""

    default_hint = ""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.path = path
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class VaultConfigError(VaultError):
    """The resource's configuration is incomplete or contradictory."""

    default_hint = "check the VaultResource configuration"


class VaultReferenceError(VaultError, ValueError):
    """A secret reference such as ``vault:secret/data/app/db#password`` is malformed."""

    default_hint = "write references as vault:<mount>/data/<path>#<key>"


class VaultUnreachableError(VaultError):
    """Vault did not answer: connection refused, timed out, DNS or TLS failure."""

    default_hint = "check that Vault is running and that url and ca_cert are right"


class VaultSealedError(VaultError):
    """Vault answered but is sealed (or not initialised)."""

    default_hint = "unseal Vault (vault operator unseal) and re-run"


class VaultPermissionDeniedError(VaultError):
    """The token may not do this: missing policy, or the token expired or was revoked."""

    default_hint = "check the policies attached to the token this code location logs in with"


class VaultAuthError(VaultPermissionDeniedError):
    """Logging in failed (wrong role_id/secret_id, expired secret_id, bad
    JWT), or Vault refused the given token."""

    default_hint = "check the role_id and secret_id files (a secret_id may be single-use or expired)"


class VaultSecretNotFoundError(VaultError, KeyError):
    """Nothing is stored at the path (or the requested version was deleted)."""

    default_hint = "check the path and the KV mount; list it with vault kv list"

    def __str__(self) -> str:  # KeyError would quote the message
        return VaultError.__str__(self)


class VaultKeyNotFoundError(VaultError, KeyError):
    """The secret exists but has no such key."""

    default_hint = "check the key after '#' in the reference"

    def __str__(self) -> str:
        return VaultError.__str__(self)


class VaultLeaseError(VaultError):
    """A lease (token or dynamic credential) could not be renewed and is about to expire."""

    default_hint = "shorten the run or raise the role's max_ttl"


def classify(err: BaseException, op: str, path: str, *, url: str = "", denied_hint: str | None = None) -> VaultError:
    """Map an hvac or requests exception onto a VaultError naming op, path
    and, for transport failures, the Vault address tried.

    hvac puts Vault's "errors" list into its messages; Vault does not echo
    request bodies there, so the text is safe to keep as detail.
    """
    where = f"{op} {path}"
    at = f"Vault at {url}" if url else "Vault"
    if isinstance(err, VaultError):
        return err
    if isinstance(err, requests.exceptions.SSLError):
        return VaultUnreachableError(
            f"{where}: TLS handshake with {at} failed",
            path=path,
            hint="set ca_cert (or VAULT_CACERT) to the CA that signed Vault's certificate",
        )
    if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return VaultUnreachableError(
            f"{where}: {at} is unreachable ({type(err).__name__})",
            path=path,
            hint=f"check that Vault is running at {url} and that url and ca_cert are right" if url else None,
        )
    if isinstance(err, hvac.exceptions.VaultNotInitialized):
        return VaultSealedError(
            f"{where}: {at} is not initialised", path=path, hint="initialise Vault (vault operator init)"
        )
    if isinstance(err, hvac.exceptions.VaultDown):
        return VaultSealedError(f"{where}: {at} is sealed", path=path)
    detail = _detail(err)
    if isinstance(err, (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized)):
        return VaultPermissionDeniedError(f"{where}: permission denied{detail}", path=path, hint=denied_hint)
    if isinstance(err, hvac.exceptions.InvalidPath):
        return VaultSecretNotFoundError(f"{where}: no secret at this path{detail}", path=path)
    if isinstance(err, hvac.exceptions.InvalidRequest):
        if "sealed" in detail:
            return VaultSealedError(f"{where}: {at} is sealed", path=path)
        return VaultError(f"{where}: bad request{detail}", path=path, hint="check the path and parameters")
    if isinstance(err, hvac.exceptions.VaultError):
        if "sealed" in detail:
            return VaultSealedError(f"{where}: {at} is sealed", path=path)
        return VaultError(f"{where}: Vault error{detail}", path=path, hint="see the Vault server log")
    return VaultError(f"{where}: {type(err).__name__}", path=path)


def _detail(err: BaseException) -> str:
    errors = getattr(err, "errors", None)
    if errors:
        text = "; ".join(str(e) for e in errors if e)
        if text:
            return f": {text}"
    return ""
