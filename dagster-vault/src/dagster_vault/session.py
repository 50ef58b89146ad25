"""One authenticated conversation with Vault for the length of a run: login,
reads with bounded retries and a per-run cache, a keeper thread that renews
the token and every lease, and revocation at the end.

The Dagster resources in ``resources`` are thin configuration over this.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from . import reference
from .errors import (
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultKeyNotFoundError,
    VaultLeaseError,
    VaultPermissionDeniedError,
    VaultSecretNotFoundError,
    classify,
)
from .secret import Secret, SecretData, redactor, register

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
RENEW_AT = 2 / 3


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


@dataclass
class DatabaseCredentials:
    """A lease-backed database user. ``password`` is a Secret; the lease is
    renewed while the run lasts and revoked when it ends."""

    role: str
    username: str
    password: Secret
    lease_id: str = field(repr=False)
    lease_duration: int
    renewable: bool

    def __repr__(self) -> str:
        return (
            f"DatabaseCredentials(role={self.role!r}, username={self.username!r}, password={self.password!r}, "
            f"lease_duration={self.lease_duration})"
        )


@dataclass
class SecretMetadata:
    """KV v2 metadata of a path: versions and custom_metadata, no values."""

    path: str
    current_version: int
    oldest_version: int
    created_time: str
    updated_time: str
    custom_metadata: dict[str, str]
    versions: dict[int, dict[str, Any]]


@dataclass
class _Lease:
    lease_id: str
    what: str  # for messages: the path that produced it, never the id
    duration: float
    renewable: bool
    expires: float
    due: float
    warned: bool = False


def _read_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
    except OSError as e:
        raise VaultConfigError(f"reading {what} file {path}: {e.strerror or e}", path=path) from None
    if not value:
        raise VaultConfigError(f"{what} file {path} is empty", path=path)
    return value


class VaultSession:
    """See the module doc. Not a Dagster object: usable from scripts too."""

    def __init__(
        self,
        *,
        url: str,
        login: Login,
        ca_cert: str | None = None,
        namespace: str | None = None,
        kv_mount: str = "secret",
        timeout: float = 10.0,
        max_retries: int = 2,
        retry_backoff: float = 0.25,
        renew: bool = True,
        revoke_token: bool = True,
        logger: logging.Logger | None = None,
    ) -> None:
        if not url:
            raise VaultConfigError("url is empty", hint="set url, e.g. EnvVar('VAULT_ADDR')")
        if ca_cert is not None and not os.path.isfile(ca_cert):
            raise VaultConfigError(f"ca_cert {ca_cert} is not a readable file", path=ca_cert)
        self.url = url
        self.kv_mount = kv_mount.strip("/")
        self._login = login
        self._max_retries = max(0, max_retries)
        self._backoff = max(0.0, retry_backoff)
        self._renew = renew
        self._revoke_token = revoke_token
        self._log = logger or logging.getLogger("dagster_vault")
        self.client = hvac.Client(url=url, verify=ca_cert or True, timeout=timeout, namespace=namespace or None)
        self._cache: dict[tuple[str, str, int | None], SecretData] = {}
        self._db_cache: dict[tuple[str, str], DatabaseCredentials] = {}
        self._lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}
        self._token_lease: _Lease | None = None
        self._owns_token = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._keeper: threading.Thread | None = None
        self.renewals = 0  # successful renewals, for tests and metrics
        self.renew_error: VaultError | None = None
        self._closed = False

    # ---- lifecycle -------------------------------------------------------

    def open(self) -> VaultSession:
        """Log in, check the token, start renewing. Raises a VaultError
        subclass on any failure, so a run fails at resource setup."""
        method = self._login.method()
        if method == "token":
            token = self._login.token or _read_file(self._login.token_file or "", "token")
            redactor().add(token)
            self.client.token = token
        else:
            self._do_login(method)
            self._owns_token = True
        info = self._call("lookup", "auth/token/lookup-self", lambda: self.client.auth.token.lookup_self())
        data = info.get("data") or {}
        ttl = float(data.get("ttl") or 0)
        if ttl > 0:
            now = time.monotonic()
            self._token_lease = _Lease(
                lease_id="",
                what="token",
                duration=float(data.get("creation_ttl") or ttl),
                renewable=bool(data.get("renewable")),
                expires=now + ttl,
                due=now + ttl * RENEW_AT,
            )
        if self._renew:
            self._keeper = threading.Thread(target=self._keep, name="dagster-vault-renewer", daemon=True)
            self._keeper.start()
        return self

    def close(self) -> None:
        """Stop renewing; revoke leases and (if this session logged in) the token."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._keeper is not None:
            self._keeper.join(timeout=30)
        with self._lock:
            leases = list(self._leases.values())
            self._leases.clear()
        unrevoked = []
        for lease in leases:
            try:
                self._revoke_lease(lease)
            except VaultPermissionDeniedError:
                unrevoked.append(lease)
            except VaultError as e:
                self._log.warning("dagster-vault: could not revoke the lease of %s: %s", lease.what, e.message)
        if self._owns_token and self._revoke_token and self.client.token:
            try:
                # Revoking the token also revokes every lease it created,
                # including any the policy did not let us revoke one by one.
                self._call("revoke", "auth/token/revoke-self", lambda: self.client.auth.token.revoke_self())
            except VaultError as e:
                self._log.warning("dagster-vault: could not revoke the run's token: %s", e.message)
        elif unrevoked:
            self._log.warning(
                "dagster-vault: %d lease(s) left to expire by TTL: the token may not revoke them", len(unrevoked)
            )
        self.client.token = None
        self.client.adapter.close()

    def _revoke_lease(self, lease: _Lease) -> None:
        # A policy may grant sys/leases/revoke (lease ID in the body) or
        # scope it by prefix, sys/leases/revoke/database/creds/<role>-* (ID
        # in the URL); try both before leaving it to the token's revocation.
        try:
            self._call("revoke", lease.what, lambda: self.client.sys.revoke_lease(lease_id=lease.lease_id))
        except VaultPermissionDeniedError:
            self._call("revoke", lease.what, lambda: self.client.adapter.put(f"/v1/sys/leases/revoke/{lease.lease_id}"))

    def __enter__(self) -> VaultSession:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -------------------------------------------------------

    def _call(self, op: str, path: str, fn: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return fn()
            except _RETRYABLE as e:
                # Once closing, only revocation is worth waiting for.
                if attempt >= self._max_retries or (self._stop.is_set() and op != "revoke"):
                    raise classify(e, op, path) from None
            except Exception as e:
                raise classify(e, op, path) from None
            time.sleep(self._backoff * (2**attempt))
            attempt += 1

    def _do_login(self, method: str) -> None:
        lg = self._login
        if method == "approle":
            role_id = lg.approle_role_id or _read_file(lg.approle_role_id_file or "", "role_id")
            secret_file = lg.approle_secret_id_file or ""
            secret_id = _read_file(secret_file, "secret_id")
            redactor().add(secret_id)
            if lg.approle_remove_secret_id_file:
                # As Vault Agent does: a response-wrapped or single-use
                # secret_id should not outlive its one login.
                try:
                    os.remove(secret_file)
                except OSError as e:
                    raise VaultConfigError(f"removing secret_id file {secret_file}: {e.strerror}", path=secret_file) from None
            path = f"auth/{lg.approle_mount}/login"
            self._login_call(path, lambda: self.client.auth.approle.login(role_id=role_id, secret_id=secret_id, mount_point=lg.approle_mount))
        elif method == "jwt":
            jwt = _read_file(lg.jwt_file or "", "jwt")
            redactor().add(jwt)
            path = f"auth/{lg.jwt_mount}/login"
            self._login_call(path, lambda: self.client.auth.jwt.jwt_login(role=lg.jwt_role, jwt=jwt, path=lg.jwt_mount))
        elif method == "kubernetes":
            jwt = _read_file(lg.kubernetes_jwt_file or "/var/run/secrets/kubernetes.io/serviceaccount/token", "service account token")
            redactor().add(jwt)
            path = f"auth/{lg.kubernetes_mount}/login"
            self._login_call(path, lambda: self.client.auth.kubernetes.login(role=lg.kubernetes_role, jwt=jwt, mount_point=lg.kubernetes_mount))

    def _login_call(self, path: str, fn: Callable[[], Any]) -> None:
        try:
            resp = self._call("login", path, fn)
        except VaultPermissionDeniedError as e:
            raise VaultAuthError(e.message.replace("permission denied", "login refused"), path=path) from None
        except VaultError as e:
            if "invalid" in e.message or "bad request" in e.message:
                raise VaultAuthError(f"login {path}: login refused ({e.message.split(': ', 2)[-1]})", path=path) from None
            raise
        token = (resp or {}).get("auth", {}).get("client_token")
        if not token:
            raise VaultAuthError(f"login {path}: no token in the response", path=path)
        redactor().add(token)
        self.client.token = token

    # ---- KV v2 -----------------------------------------------------------

    def read(self, path: str, *, mount: str | None = None, version: int | None = None, refresh: bool = False) -> SecretData:
        """One version (default: latest) of the secret at ``mount/data/path``,
        cached for the session unless refresh."""
        mount = (mount or self.kv_mount).strip("/")
        path = path.strip("/")
        if not path:
            raise VaultSecretNotFoundError(f"read {mount}/data/: empty path", path=f"{mount}/data/")
        ck = (mount, path, version)
        if not refresh:
            hit = self._cache.get(ck)
            if hit is not None:
                return hit
        api = f"{mount}/data/{path}"
        params = {"version": version} if version is not None else None
        try:
            resp = self._call("read", api, lambda: self.client.adapter.get(f"/v1/{api}", params=params))
        except VaultSecretNotFoundError:
            if version is None:
                raise
            # Vault answers 404 alike for a deleted, a destroyed and a never-written version.
            raise VaultSecretNotFoundError(
                f"read {api}: version {version} is deleted or destroyed, or was never written",
                path=api,
                hint="get_metadata() lists the versions that exist",
            ) from None
        body = (resp or {}).get("data") or {}
        data = body.get("data")
        meta = body.get("metadata") or {}
        if data is None:
            raise VaultSecretNotFoundError(
                f"read {api}: version {meta.get('version', version or 'latest')} is deleted or destroyed",
                path=api,
                hint="undelete it or read another version",
            )
        wrapped = {}
        for k, v in data.items():
            wrapped[str(k)] = register(v if isinstance(v, str) else _json(v))
        result = SecretData(
            path,
            wrapped,
            mount=mount,
            version=meta.get("version"),
            created_time=meta.get("created_time"),
            custom_metadata=meta.get("custom_metadata"),
        )
        self._cache[ck] = result
        if version is None:
            # A later explicit read of the same version should hit the cache too.
            self._cache[(mount, path, result.version)] = result
        return result

    def get(self, path: str, key: str, **kw: Any) -> Secret:
        return self.read(path, **kw)[key]

    def resolve(self, value: str, *, refresh: bool = False) -> Secret:
        """A reference's value; any other string is returned wrapped as is,
        so config can hold a literal or an EnvVar during development."""
        if isinstance(value, Secret):
            return value
        if not (reference.is_reference(value) or isinstance(value, reference.VaultSecret)):
            return register(value)
        ref = reference.parse_loose(value)
        return self.read(ref.path, mount=ref.mount, refresh=refresh)[ref.key]

    def read_many(self, items: Iterable[str], *, refresh: bool = False, workers: int = 8) -> dict[str, Secret | SecretData]:
        """Fetch many in parallel. Each item is a path below the KV mount
        (→ SecretData) or a reference with ``#key`` (→ Secret)."""
        items = list(dict.fromkeys(items))

        def one(item: str) -> Secret | SecretData:
            if reference.is_reference(item) or "#" in item:
                ref = reference.parse_loose(item)
                return self.read(ref.path, mount=ref.mount, refresh=refresh)[ref.key]
            return self.read(item, refresh=refresh)

        if len(items) <= 1:
            return {i: one(i) for i in items}
        with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="dagster-vault-read") as pool:
            futures = [pool.submit(one, i) for i in items]
            return {i: f.result() for i, f in zip(items, futures)}

    def metadata(self, path: str, *, mount: str | None = None) -> SecretMetadata:
        mount = (mount or self.kv_mount).strip("/")
        path = path.strip("/")
        api = f"{mount}/metadata/{path}"
        resp = self._call("read", api, lambda: self.client.adapter.get(f"/v1/{api}"))
        d = (resp or {}).get("data") or {}
        return SecretMetadata(
            path=f"{mount}/data/{path}",
            current_version=int(d.get("current_version") or 0),
            oldest_version=int(d.get("oldest_version") or 0),
            created_time=str(d.get("created_time") or ""),
            updated_time=str(d.get("updated_time") or ""),
            custom_metadata=dict(d.get("custom_metadata") or {}),
            versions={int(k): dict(v) for k, v in (d.get("versions") or {}).items()},
        )

    def with_rotation(
        self,
        ref: str,
        use: Callable[[Secret], T],
        *,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
    ) -> T:
        """Call use(secret); if it raises one of retry_on, re-read the secret
        and, when Vault now holds a different value (it was rotated since the
        run read it), call use once more with the fresh one. An unchanged
        value re-raises the original error: retrying would not help."""
        secret = self.resolve(ref)
        try:
            return use(secret)
        except retry_on:
            fresh = self.resolve(ref, refresh=True)
            if fresh == secret:
                raise
            self._log.info("dagster-vault: %s changed during the run; retrying with the new version", _where(ref))
            return use(fresh)

    # ---- dynamic database credentials -------------------------------------

    def database_credentials(self, role: str, *, mount: str = "database", refresh: bool = False) -> DatabaseCredentials:
        """Credentials from ``<mount>/creds/<role>``, one set per role per
        session unless refresh; renewed while the session lasts, revoked
        at close."""
        mount = mount.strip("/")
        ck = (mount, role)
        if not refresh and ck in self._db_cache:
            return self._db_cache[ck]
        api = f"{mount}/creds/{role}"
        resp = self._call("read", api, lambda: self.client.adapter.get(f"/v1/{api}"))
        data = (resp or {}).get("data") or {}
        if "password" not in data or "username" not in data:
            raise VaultKeyNotFoundError(f"read {api}: no username/password in the response", path=api)
        lease_id = str(resp.get("lease_id") or "")
        duration = float(resp.get("lease_duration") or 0)
        creds = DatabaseCredentials(
            role=role,
            username=str(data["username"]),
            password=register(str(data["password"])),
            lease_id=lease_id,
            lease_duration=int(duration),
            renewable=bool(resp.get("renewable")),
        )
        if lease_id and duration > 0:
            now = time.monotonic()
            with self._lock:
                self._leases[lease_id] = _Lease(
                    lease_id=lease_id,
                    what=api,
                    duration=duration,
                    renewable=creds.renewable,
                    expires=now + duration,
                    due=now + duration * RENEW_AT,
                )
            self._wake.set()
        self._db_cache[ck] = creds
        return creds

    # ---- renewal ---------------------------------------------------------

    def _keep(self) -> None:
        while not self._stop.is_set():
            # Cleared before looking, so a close() or new lease that sets it
            # from now on cuts the wait short instead of being lost.
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                items = [x for x in [self._token_lease, *self._leases.values()] if x is not None]
            for lease in items:
                if self._stop.is_set():
                    return
                if lease.due <= now:
                    self._renew_one(lease)
            with self._lock:
                items = [x for x in [self._token_lease, *self._leases.values()] if x is not None]
            nxt = min((x.due for x in items), default=now + 3600)
            self._wake.wait(timeout=max(0.05, nxt - time.monotonic()))

    def _renew_one(self, lease: _Lease) -> None:
        now = time.monotonic()
        if not lease.renewable:
            lease.due = lease.expires + 3600  # nothing to do until it lapses
            self._warn_expiring(lease)
            return
        try:
            if lease is self._token_lease:
                resp = self._call("renew", "auth/token/renew-self", lambda: self.client.auth.token.renew_self())
                ttl = float((resp.get("auth") or {}).get("lease_duration") or 0)
            else:
                resp = self._call(
                    "renew",
                    lease.what,
                    lambda: self.client.sys.renew_lease(lease_id=lease.lease_id, increment=int(lease.duration)),
                )
                ttl = float(resp.get("lease_duration") or 0)
        except VaultError as e:
            self.renew_error = e
            self._log.warning("dagster-vault: renewing %s failed: %s", lease.what, e.message)
            # Try again soon, but give up once it has lapsed.
            lease.due = now + max(0.5, (lease.expires - now) / 3) if lease.expires > now else lease.expires + 3600
            return
        self.renewals += 1
        self.renew_error = None
        lease.expires = now + ttl
        if ttl < lease.duration * 0.5:
            # Vault capped the TTL at max_ttl: renewals no longer extend it.
            self._warn_expiring(lease)
            lease.due = lease.expires + 3600 if ttl <= 1 else now + ttl * RENEW_AT
        else:
            lease.due = now + ttl * RENEW_AT

    def _warn_expiring(self, lease: _Lease) -> None:
        if not lease.warned:
            lease.warned = True
            left = max(0.0, lease.expires - time.monotonic())
            self._log.warning(
                "dagster-vault: %s reaches its max TTL in %.0fs and cannot be renewed further (%s)",
                lease.what,
                left,
                VaultLeaseError.default_hint,
            )


def _json(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _where(ref: str) -> str:
    try:
        r = reference.parse_loose(ref)
        return f"{r.api_path}#{r.key}"
    except VaultError:
        return "a secret"

