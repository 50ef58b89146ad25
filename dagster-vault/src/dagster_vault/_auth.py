"""Logging in to Vault and talking to it: the auth methods a session can
use, each request with bounded retries, and the response-wrapped secret_id
unwrapped before an AppRole login.

Part of ``session``'s ``VaultSession``; import from there.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from . import masking
from .errors import (
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultPermissionDeniedError,
    classify,
)
from .secret import redactor

T = TypeVar("T")

# Transient failures worth another try; sealed (503) and denials are not.
_RETRYABLE = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    hvac.exceptions.InternalServerError,
    hvac.exceptions.BadGateway,
    hvac.exceptions.RateLimitExceeded,
)

# Renew when this share of a TTL has passed, as Vault Agent does.

@dataclass
class Login:
    """How to obtain a token. Exactly one of the fields is used."""

    token: str | None = None
    token_file: str | None = None
    approle_role_id: str | None = None
    approle_role_id_file: str | None = None
    approle_secret_id_file: str | None = None
    approle_remove_secret_id_file: bool = False
    approle_mount: str = "approle"
    jwt_role: str | None = None
    jwt_file: str | None = None
    jwt_mount: str = "jwt"
    kubernetes_role: str | None = None
    kubernetes_jwt_file: str | None = None
    kubernetes_mount: str = "kubernetes"

    def method(self) -> str:
        if self.token is not None and self.token_file is not None:
            raise VaultConfigError("set token or token_file, not both")
        chosen = [
            name
            for name, on in (
                ("approle", self.approle_secret_id_file is not None),
                ("jwt", self.jwt_role is not None),
                ("kubernetes", self.kubernetes_role is not None),
                ("token", self.token is not None or self.token_file is not None),
            )
            if on
        ]
        if len(chosen) > 1:
            raise VaultConfigError(f"configure one auth method, not {' and '.join(chosen)}")
        if not chosen:
            raise VaultConfigError(
                "no auth method configured",
                hint="set approle, token_file (e.g. Vault Agent's sink), jwt, kubernetes or token",
            )
        return chosen[0]

def _read_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
    except OSError as e:
        raise VaultConfigError(f"reading {what} file {path}: {e.strerror or e}", path=path) from None
    if not value:
        raise VaultConfigError(f"{what} file {path} is empty", path=path)
    return value


def _read_credential(path: str, what: str) -> str:
    """_read_file for a credential: its value is redacted from logs from now on."""
    value = _read_file(path, what)
    if masking.credential(value):
        redactor().add(value)
    return value


class _Connection:
    """The client, its login and the retrying call every request goes
    through. VaultSession sets the attributes in its __init__."""

    client: hvac.Client
    url: str
    method: str
    logins: int
    _login: Login
    _max_retries: int
    _backoff: float
    _stop: threading.Event
    _log: logging.Logger


    def _call(self, op: str, path: str, fn: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return fn()
            except _RETRYABLE as e:
                # Once closing, only revocation is worth waiting for.
                if attempt >= self._max_retries or (self._stop.is_set() and op != "revoke"):
                    raise classify(e, op, path, url=self.url, denied_hint=self._denied_hint()) from None
            except Exception as e:
                raise classify(e, op, path, url=self.url, denied_hint=self._denied_hint()) from None
            time.sleep(self._backoff * (2**attempt))
            attempt += 1

    def _denied_hint(self) -> str:
        return DENIED_HINTS.get(self.method, DENIED_HINTS["token"])

    def _do_login(self, method: str) -> None:
        lg = self._login
        if method == "approle":
            role_id = lg.approle_role_id or _read_file(lg.approle_role_id_file or "", "role_id")
            secret_file = lg.approle_secret_id_file or ""
            secret_id = _read_credential(secret_file, "secret_id")
            if _is_token(secret_id):
                secret_id = self._unwrap_secret_id(secret_id, lg.approle_mount, secret_file)
            if lg.approle_remove_secret_id_file:
                # As Vault Agent does: a response-wrapped or single-use
                # secret_id should not outlive its one login.
                try:
                    os.remove(secret_file)
                except OSError as e:
                    raise VaultConfigError(f"removing secret_id file {secret_file}: {e.strerror}", path=secret_file) from None
            path = f"auth/{lg.approle_mount}/login"
            self._login_call(method, path, lambda: self.client.auth.approle.login(role_id=role_id, secret_id=secret_id, mount_point=lg.approle_mount))
        elif method == "jwt":
            jwt = _read_credential(lg.jwt_file or "", "jwt")
            path = f"auth/{lg.jwt_mount}/login"
            self._login_call(method, path, lambda: self.client.auth.jwt.jwt_login(role=lg.jwt_role, jwt=jwt, path=lg.jwt_mount))
        elif method == "kubernetes":
            jwt = _read_credential(lg.kubernetes_jwt_file or "/var/run/secrets/kubernetes.io/serviceaccount/token", "service account token")
            path = f"auth/{lg.kubernetes_mount}/login"
            self._login_call(method, path, lambda: self.client.auth.kubernetes.login(role=lg.kubernetes_role, jwt=jwt, mount_point=lg.kubernetes_mount))

    def _unwrap_secret_id(self, wrapping_token: str, mount: str, secret_file: str) -> str:
        """The secret_id inside a response-wrapping token (the file format
        of vault-policy issue --wrap-ttl): looked up first, so a token that
        wraps anything but a secret_id of this mount is refused unused."""
        where = "sys/wrapping/lookup"
        try:
            info = self._call("unwrap", where, lambda: self.client.adapter.post("/v1/sys/wrapping/lookup", json={"token": wrapping_token}))
        except VaultError as e:
            raise VaultAuthError(
                f"unwrap {where}: the wrapping token in {secret_file} is invalid, expired or already used{_after(e.message)}",
                path=secret_file,
                hint=_REISSUE_HINT,
            ) from None
        creation = str(((info or {}).get("data") or {}).get("creation_path") or "")
        if not re.fullmatch(rf"auth/{re.escape(mount)}/role/[^/]+/secret-id", creation):
            raise VaultAuthError(
                f"unwrap {where}: the wrapping token in {secret_file} was not made by auth/{mount}/role/<role>/secret-id",
                path=secret_file,
                hint="someone may have replaced the secret_id; issue a new one and investigate",
            )
        try:
            # The wrapping token authenticates the unwrap call itself. One
            # attempt only: a retry after an unwrap that went through would
            # report the token as used (lib/vaultclient does the same).
            resp = self.client.adapter.post("/v1/sys/wrapping/unwrap", headers={"X-Vault-Token": wrapping_token})
        except Exception as raw:
            err = classify(raw, "unwrap", "sys/wrapping/unwrap", url=self.url)
            if not isinstance(err, VaultPermissionDeniedError) and "bad request" not in err.message:
                raise err from None  # unreachable, sealed: not the token's fault
            raise VaultAuthError(
                f"unwrap sys/wrapping/unwrap: the wrapping token in {secret_file} was refused{_after(err.message)}",
                path=secret_file,
                hint=_REISSUE_HINT,
            ) from None
        secret_id = str(((resp or {}).get("data") or {}).get("secret_id") or "")
        if not secret_id:
            raise VaultAuthError(f"unwrap sys/wrapping/unwrap: no secret_id in the wrapped response of {secret_file}", path=secret_file)
        if masking.credential(secret_id):
            redactor().add(secret_id)
        return secret_id

    def _login_call(self, method: str, path: str, fn: Callable[[], Any]) -> None:
        hint = AUTH_HINTS[method]
        self.logins += 1
        try:
            resp = self._call("login", path, fn)
        except VaultPermissionDeniedError as e:
            raise VaultAuthError(e.message.replace("permission denied", "login refused"), path=path, hint=hint) from None
        except VaultError as e:
            if "invalid" in e.message or "bad request" in e.message:
                raise VaultAuthError(f"login {path}: login refused ({e.message.split(': ', 2)[-1]})", path=path, hint=hint) from None
            raise
        token = (resp or {}).get("auth", {}).get("client_token")
        if not token:
            raise VaultAuthError(f"login {path}: no token in the response", path=path, hint=hint)
        if masking.credential(token):
            redactor().add(token)
        self.client.token = token

_REISSUE_HINT = "issue a new wrapped secret_id (vault-policy issue --wrap-ttl) and re-run"

AUTH_HINTS = {
    "approle": "check the role_id and secret_id files (a secret_id may be single-use or expired)",
    "jwt": "check the JWT file and the role's bound claims (issuer, audience, expiry)",
    "kubernetes": "check the service-account token and the role's bound service accounts and namespaces",
    "token": "the token is invalid, expired or revoked: check token / token_file (Vault Agent's sink)",
}

DENIED_HINTS = {
    "approle": "check the policies attached to this code location's AppRole (token_policies)",
    "jwt": "check the token_policies of the JWT role",
    "kubernetes": "check the token_policies of the Kubernetes role",
    "token": "check the policies attached to the given token (vault token lookup)",
}


def _is_token(value: str) -> bool:
    """A Vault token (a response-wrapping one, in a secret_id file) rather
    than a secret_id, which is a UUID."""
    return any(value.startswith(p) and len(value) > len(p) + 8 for p in ("hvs.", "hvb.", "s.", "b."))


def _after(message: str) -> str:
    """The detail after "op path: " of a VaultError message, as ": detail"."""
    parts = message.split(": ", 1)
    return f" ({parts[1]})" if len(parts) == 2 else ""
