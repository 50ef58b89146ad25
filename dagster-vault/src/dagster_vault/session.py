"""One authenticated conversation with Vault for the length of a run: login,
reads with bounded retries and a per-run cache, a keeper thread that renews
the token and every lease, and revocation at the end.

The Dagster resources in ``resources`` are thin configuration over this.
Logging in and the retrying call live in ``_auth``, renewal and revocation
of leases in ``_leases``; ``VaultSession`` is the one class over both.
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

from . import masking, reference
from ._auth import (
    AUTH_HINTS as AUTH_HINTS,
    DENIED_HINTS as DENIED_HINTS,
    Login as Login,
    _after,
    _read_file,
)
from ._leases import RENEW_AT as RENEW_AT, _Lease, _LeaseKeeper
from .errors import (
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultKeyNotFoundError,
    VaultPermissionDeniedError,
    VaultSecretNotFoundError,
)
from .secret import Secret, SecretData, redactor

T = TypeVar("T")


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

class VaultSession(_LeaseKeeper):
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
        mask: masking.Policy | None = None,
    ) -> None:
        if not url:
            raise VaultConfigError("url is empty", hint="set url, e.g. EnvVar('VAULT_ADDR')")
        # Vault's own variable, as the vault CLI reads it (hvac only reads it
        # when first imported, not at client creation).
        ca_cert = ca_cert or os.environ.get("VAULT_CACERT") or None
        if ca_cert is not None and not os.path.isfile(ca_cert):
            raise VaultConfigError(f"ca_cert {ca_cert} is not a readable file", path=ca_cert)
        self.method = login.method()  # a contradictory config fails here, before any request
        self.url = url.rstrip("/")
        self.mask = mask or masking.Policy()
        self.kv_mount = kv_mount.strip("/")
        self._login = login
        self._max_retries = max(0, max_retries)
        self._backoff = max(0.0, retry_backoff)
        self._renew = renew
        self._revoke_token = revoke_token
        self._log = logger or logging.getLogger("dagster_vault")
        # token="" keeps hvac from picking up an ambient VAULT_TOKEN or
        # ~/.vault-token: the token is the one the configured method gives.
        self.client = hvac.Client(url=self.url, token="", verify=ca_cert or True, timeout=timeout, namespace=namespace or None)
        self.logins = 0  # login requests this session made (at most one)
        self._open_lock = threading.Lock()
        self._opened = False
        self._open_error: VaultError | None = None
        self._origins: dict[int, tuple[Secret, str]] = {}
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
        """Log in, check the token, start renewing — once: later calls (and
        every read, which calls it first) return at once, or raise the
        error the one attempt met, so a session never logs in twice and a
        failure is reported once, not per read."""
        if self._opened:
            return self
        with self._open_lock:
            if self._open_error is not None:
                raise self._open_error
            if not self._opened:
                if self._closed:
                    raise VaultConfigError("the Vault session is closed")
                try:
                    self._open()
                except VaultError as e:
                    self._open_error = e
                    raise
                self._opened = True
        return self

    def _open(self) -> None:
        method = self.method
        if method == "token":
            token = self._login.token or _read_file(self._login.token_file or "", "token")
            if masking.credential(token):
                redactor().add(token)
            self.client.token = token
        else:
            self._do_login(method)
            self._owns_token = True
        try:
            info = self._call("lookup", "auth/token/lookup-self", lambda: self.client.auth.token.lookup_self())
        except VaultPermissionDeniedError as e:
            if method != "token":
                raise
            raise VaultAuthError(
                f"lookup auth/token/lookup-self: Vault at {self.url} refused the token{_after(e.message)}",
                path="auth/token/lookup-self",
                hint=AUTH_HINTS["token"],
            ) from None
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

    def close(self) -> None:
        """Stop renewing; revoke leases and (if this session logged in) the token."""
        with self._open_lock:
            if self._closed:
                return
            self._closed = True
        if not self._opened and not self._owns_token:
            # Never used (or the login itself failed): nothing to revoke.
            self.client.adapter.close()
            return
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
    def __enter__(self) -> VaultSession:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
    # ---- KV v2 -----------------------------------------------------------

    def read(self, path: str, *, mount: str | None = None, version: int | None = None, refresh: bool = False) -> SecretData:
        """One version (default: latest) of the secret at ``mount/data/path``,
        cached for the session unless refresh."""
        mount = (mount or self.kv_mount).strip("/")
        path = path.strip("/")
        if not path:
            raise VaultSecretNotFoundError(f"read {mount}/data/: empty path", path=f"{mount}/data/")
        self.open()
        ck = (mount, path, version)
        if not refresh:
            hit = self._cache.get(ck)
            if hit is not None:
                return hit
        api = f"{mount}/data/{path}"
        params = {"version": version} if version is not None else None
        url = f"/v1/{reference.quote_path(api)}"
        try:
            resp = self._call("read", api, lambda: self.client.adapter.get(url, params=params))
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
        reg = redactor()
        for k, v in data.items():
            text = v if isinstance(v, str) else _json(v)
            for s in self.mask.values_to_mask(f"{mount}/data/{path}", str(k), text):
                reg.add(s)
            wrapped[str(k)] = Secret(text)
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
            self.declare("", "", value)
            return Secret(value)
        ref = reference.parse_loose(value)
        secret = self.read(ref.path, mount=ref.mount, refresh=refresh)[ref.key]
        self.declare(ref.api_path, ref.key, secret.reveal())
        self._origins[id(secret)] = (secret, str(ref))
        return secret

    def declare(self, path: str, key: str, value: str) -> None:
        """Mask value as a declared secret (a VaultSecret, a declared
        reference): always, above the plain-word floor."""
        reg = redactor()
        for s in self.mask.values_to_mask(path, key, value, declared=True):
            reg.add(s)

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

    def read_each(self, items: Iterable[str], *, workers: int = 8) -> dict[str, Secret | SecretData | VaultError]:
        """read_many, but each item's failure is its value instead of
        raised, so a caller can report them all at once."""

        def one(item: str) -> Secret | SecretData | VaultError:
            try:
                return self.read_many([item])[item]
            except VaultError as e:
                return e

        items = list(dict.fromkeys(items))
        if len(items) <= 1:
            return {i: one(i) for i in items}
        with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="dagster-vault-read") as pool:
            futures = [pool.submit(one, i) for i in items]
            return {i: f.result() for i, f in zip(items, futures)}

    @property
    def failed(self) -> bool:
        """Whether the one login attempt failed."""
        return self._open_error is not None

    def metadata(self, path: str, *, mount: str | None = None) -> SecretMetadata:
        mount = (mount or self.kv_mount).strip("/")
        path = path.strip("/")
        self.open()
        api = f"{mount}/metadata/{path}"
        resp = self._call("read", api, lambda: self.client.adapter.get(f"/v1/{reference.quote_path(api)}"))
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
        ref: str | Secret,
        use: Callable[[Secret], T],
        *,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
    ) -> T:
        """Call use(secret); if it raises one of retry_on, re-read the secret
        and, when Vault now holds a different value (it was rotated since the
        run read it), call use once more with the fresh one. An unchanged
        value re-raises the original error: retrying would not help."""
        if isinstance(ref, Secret):
            # A VaultSecret field's value: rotate through its reference.
            origin = self._origins.get(id(ref))
            ref = origin[1] if origin is not None and origin[0] is ref else ref
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
        self.open()
        api = f"{mount}/creds/{role}"
        resp = self._call("read", api, lambda: self.client.adapter.get(f"/v1/{api}"))
        data = (resp or {}).get("data") or {}
        if "password" not in data or "username" not in data:
            raise VaultKeyNotFoundError(f"read {api}: no username/password in the response", path=api)
        lease_id = str(resp.get("lease_id") or "")
        duration = float(resp.get("lease_duration") or 0)
        if masking.credential(str(data["password"])):
            redactor().add(str(data["password"]))
        creds = DatabaseCredentials(
            role=role,
            username=str(data["username"]),
            password=Secret(str(data["password"])),
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

def _json(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _where(ref: str) -> str:
    try:
        r = reference.parse_loose(ref)
        return f"{r.api_path}#{r.key}"
    except VaultError:
        return "a secret"
