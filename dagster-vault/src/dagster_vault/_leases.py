"""Leases a session holds — its token's and each set of database
credentials' — renewed by a keeper thread at two thirds of their TTL, as
Vault Agent does, and revoked when the session closes.

Part of ``session``'s ``VaultSession``; import from there.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ._auth import _Connection
from .errors import VaultError, VaultLeaseError, VaultPermissionDeniedError

RENEW_AT = 2 / 3

@dataclass
class _Lease:
    lease_id: str
    what: str  # for messages: the path that produced it, never the id
    duration: float
    renewable: bool
    expires: float
    due: float
    warned: bool = False


class _LeaseKeeper(_Connection):
    """Renewal and revocation of the session's leases."""

    _lock: threading.Lock
    _leases: dict[str, _Lease]
    _token_lease: _Lease | None
    _wake: threading.Event
    renewals: int
    renew_error: VaultError | None

    def _revoke_lease(self, lease: _Lease) -> None:
        # A policy may grant sys/leases/revoke (lease ID in the body) or
        # scope it by prefix, sys/leases/revoke/database/creds/<role>-* (ID
        # in the URL); try both before leaving it to the token's revocation.
        try:
            self._call("revoke", lease.what, lambda: self.client.sys.revoke_lease(lease_id=lease.lease_id))
        except VaultPermissionDeniedError:
            self._call("revoke", lease.what, lambda: self.client.adapter.put(f"/v1/sys/leases/revoke/{lease.lease_id}"))


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
