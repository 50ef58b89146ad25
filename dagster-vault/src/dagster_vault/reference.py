"""Secret references: the text ``vault:<mount>/data/<path>#<key>`` that
stands in config for a value kept in Vault (the format of vaultpipe's
``lib/ref``, mirrored here), and ``VaultSecret``, which puts one in another
resource's config the way ``EnvVar`` puts an environment variable there."""

from __future__ import annotations

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
    """Parse ``vault:<mount>/data/<path>#<key>``; the ``vault:`` prefix may be
    left out. Raises VaultReferenceError naming the reference and the fault."""
    body = text[len(PREFIX) :] if text.startswith(PREFIX) else text

    def bad(why: str) -> VaultReferenceError:
        return VaultReferenceError(f"bad secret reference {text!r}: {why}", path=text)

    if not body:
        raise bad("empty")
    if any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in body):
        raise bad("contains whitespace or a control character")
    where, sep, key = body.partition("#")
    if not sep or not key:
        raise bad("missing '#<key>' at the end")
    if "#" in key:
        raise bad("more than one '#'")
    mount, sep, rest = where.partition("/data/")
    if not sep:
        raise bad("missing '/data/' after the mount (KV v2 paths read <mount>/data/<path>)")
    if not mount or mount.startswith("/") or mount.endswith("/"):
        raise bad("empty mount")
    if not rest or rest.endswith("/"):
        raise bad("empty path after '/data/'" if not rest else "path ends with '/'")
    for seg in [*mount.split("/"), *rest.split("/")]:
        if seg in ("", ".", ".."):
            raise bad("empty, '.' or '..' path segment")
    return Reference(mount=mount, path=rest, key=key)


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
        ref = parse(reference)
        return super().__new__(cls, str(ref))

    @property
    def reference(self) -> Reference:
        return parse(self)
