"""Secret references: the text ``vault:<mount>/data/<path>#<key>`` that
stands in config for a value kept in Vault (the format of vaultpipe's
``lib/ref``, mirrored here), and ``VaultSecret``, which puts one in another
resource's config the way ``EnvVar`` puts an environment variable there."""

from __future__ import annotations

import string
import unicodedata
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
            "reference key is empty or has a character other than letters, digits, _ . - "
            "(or starts with a digit, . or -)"
        )


_SEGMENT_CHARS = frozenset(string.ascii_letters + string.digits + "_-.")


def _segments(s: str, what: str) -> None:
    if not s:
        raise VaultReferenceError(f"reference {what} is empty")
    for seg in s.split("/"):
        if seg in ("", ".", ".."):
            raise VaultReferenceError(f"reference {what} has an empty, . or .. segment")
        if not all(c in _SEGMENT_CHARS for c in seg):
            raise VaultReferenceError(f"reference {what} has a character other than ASCII letters, digits, _ . -")


def _letter(c: str) -> bool:
    return c == "_" or unicodedata.category(c).startswith("L")


def valid_key(k: str) -> bool:
    """A .env key (lib/dotenv.ValidKey): a letter or _, then letters,
    decimal digits, _ . -"""
    return bool(k) and _letter(k[0]) and all(_letter(c) or unicodedata.category(c) == "Nd" or c in ".-" for c in k[1:])


class VaultSecret(str):
    """A reference to one key of a KV v2 secret, usable wherever a config
    string is expected — like ``EnvVar``, but resolved from Vault at run time
    by ``VaultResource.resolve``::

        class WarehouseResource(ConfigurableResource):
            vault: VaultResource
            password: str = VaultSecret("secret/data/analytics/warehouse#password")

            def connect(self):
                pw = self.vault.resolve(self.password)
                return psycopg.connect(..., password=pw.reveal())

    The string value is the canonical ``vault:…`` reference, so the run's
    recorded config shows where the value lives, never the value. A
    malformed reference fails where it is written, at import time.
    """

    def __new__(cls, reference: str) -> VaultSecret:
        ref = parse_loose(reference)
        return super().__new__(cls, str(ref))

    @property
    def reference(self) -> Reference:
        return parse(self)
