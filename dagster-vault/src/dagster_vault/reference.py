"""Secret references: the text ``vault:<mount>/data/<path>#<key>`` that
stands in config for a value kept in Vault (the format of vaultpipe's
``lib/ref``, mirrored here), and ``VaultSecret``, which puts one in another
resource's config the way ``EnvVar`` puts an environment variable there."""

from __future__ import annotations

import unicodedata
import urllib.parse
from dataclasses import dataclass

from .errors import VaultReferenceError

PREFIX = "vault:"


@dataclass(frozen=True)
class Reference:
    """A parsed reference: KV v2 ``mount``, ``path`` below it, and ``key``."""

    mount: str
    path: str
    key: str

    def __str__(self) -> str:
        return f"{PREFIX}{self.mount}/data/{self.path}#{self.key}"

    @property
    def api_path(self) -> str:
        return f"{self.mount}/data/{self.path}"


def is_reference(text: str) -> bool:
    """Whether text is meant as a reference (starts with ``vault:``)."""
    return text.startswith(PREFIX)


def parse(text: str) -> Reference:
    """Parse ``vault:<mount>/data/<path>#<key>`` exactly as lib/ref.Parse
    does (grammar: docs/references.md). Errors say which part is wrong and
    never quote the text: a malformed reference may be a pasted secret."""
    if not text.startswith(PREFIX):
        raise VaultReferenceError('reference does not start with "vault:"')
    loc, sep, key = text[len(PREFIX) :].partition("#")
    if not sep:
        raise VaultReferenceError('reference has no "#<key>"')
    mount, sep, path = loc.partition("/data/")
    if not sep:
        raise VaultReferenceError('reference has no "/data/" between mount and path')
    ref = Reference(mount=mount, path=path, key=key)
    validate(ref)
    return ref


def parse_loose(text: str) -> Reference:
    """parse, also accepting the form without ``vault:``
    (``secret/data/app/db#password``) that Python callers may write."""
    return parse(text if text.startswith(PREFIX) else PREFIX + text)


def validate(ref: Reference) -> None:
    _segments(ref.mount, "mount")
    if "data" in ref.mount.split("/"):
        raise VaultReferenceError('reference mount has a "data" segment, which would be ambiguous')
    _segments(ref.path, "path")
    if not valid_key(ref.key):
        raise VaultReferenceError(
            "reference key is empty, has a control character, or starts or ends with whitespace"
        )


# Vault takes any character in a path but these: "#" ends the path of a
# reference, "?" would start a query, control characters are never meant.
_NOT_IN_SEGMENT = frozenset("#?")


def _control(c: str) -> bool:
    return unicodedata.category(c) == "Cc"


def _segments(s: str, what: str) -> None:
    if not s:
        raise VaultReferenceError(f"reference {what} is empty")
    for seg in s.split("/"):
        if seg in ("", ".", ".."):
            raise VaultReferenceError(f"reference {what} has an empty, . or .. segment")
        if any(c in _NOT_IN_SEGMENT or _control(c) for c in seg):
            raise VaultReferenceError(f'reference {what} has a "#", "?" or control character')


def valid_key(k: str) -> bool:
    """A KV field name as Vault takes it: anything non-empty without
    control characters or surrounding whitespace (lib/ref.ValidKey)."""
    return bool(k) and k == k.strip() and not any(_control(c) for c in k)


def quote_path(api_path: str) -> str:
    """api_path as it goes into a request URL: spaces and other characters
    percent-encoded, "/" kept."""
    return urllib.parse.quote(api_path, safe="/")


class VaultSecret(str):
    """A reference to one key of a KV v2 secret, as the default of another
    resource's config field — like ``EnvVar``: config holds the reference,
    and while the resource runs the field holds the value, as a ``Secret``
    read through the resource's ``VaultResource`` field at setup::

        class WarehouseResource(ConfigurableResource):
            vault: VaultResource
            password: str = VaultSecret("secret/data/analytics/warehouse#password")

            def connect(self):
                return psycopg.connect(..., password=self.password.reveal())

    The string value is the canonical ``vault:…`` reference, so config
    (defaults, and run config given at launch) shows where the value lives,
    never the value. A malformed reference fails where it is written, at
    import time.
    """

    def __new__(cls, reference: str) -> VaultSecret:
        ref = parse_loose(reference)
        return super().__new__(cls, str(ref))

    @property
    def reference(self) -> Reference:
        return parse(self)
