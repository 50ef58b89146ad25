"""Which fetched values are masked in logs: the rule the README states.

A value is masked when it is a credential (a Vault token, secret_id or
JWT), a declared secret (``VaultSecretsResource``, a ``VaultSecret``
field, ``resolve``), or it looks like one: the value of a secret-looking
key, a private key block, a DSN or URL with a password, or a high-entropy
string — the classification vaultpipe's env-scan uses (``lib/scan``,
mirrored here). Strings inside JSON values are judged the same way, by
their own key or their parent's.

Never masked unless asked for (``mask="all"``, or ``mask_keys``): values
shorter than 4 characters, booleans, numbers of up to 6 digits, log
levels, and common words (``localhost``, ``admin``, ``root`` …) — masking
those would garble every log line and traceback that contains the word.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

MIN_LEN = 4

_NAME_CLASSES = frozenset(
    "PASSWORD PASSWD PWD PASS PASSPHRASE PW TOKEN JWT BEARER PAT SECRET SECRETS "
    "APIKEY ACCESSKEY PRIVATEKEY CREDENTIAL CREDENTIALS CREDS DSN".split()
)
_KEY_QUALIFIERS = frozenset(
    "API ACCESS PRIVATE SECRET SIGNING ENCRYPTION MASTER AUTH HMAC CLIENT LICENSE SERVICE "
    "WEBHOOK APP ACCOUNT CRYPT CIPHER SESSION".split()
)
_NOT_SECRET_SUFFIX = frozenset(
    "FILE PATH DIR ENDPOINT HOST PORT TTL EXPIRY EXPIRES EXPIRATION TIMEOUT LENGTH LEN SIZE "
    "ENABLED DISABLED ENABLE DISABLE USER USERNAME NAME ID TYPE MODE VERSION HEADER PREFIX REGION "
    "ALGORITHM ALG FORMAT COUNT MAX MIN FIELD PARAM ENV VAR COOKIE ISSUER AUDIENCE SCOPE SCOPES "
    "POLICY ROLE MOUNT".split()
)

# Words that turn up in log lines, paths and tracebacks; a value equal to one
# of them is never masked on its own (a dev token "root" would otherwise
# blank out every /root/... path).
COMMON_WORDS = frozenset(
    """
    admin administrator root user users guest default public private postgres postgresql mysql
    redis mongo mongodb sqlite localhost local host server client service services database db
    data home test tests testing dev develop development prod production staging stage live
    main master primary replica read write readonly readwrite none null nil undefined empty
    true false enabled disabled enable disable yes no on off auto manual info debug warn warning
    error critical trace http https json yaml text string value values name names key keys
    secret secrets password token config settings example demo sample app api web www mail
    email smtp analytics dagster vault python app1 app2 system internal external
    """.split()
)

_PLAIN = re.compile(
    r"(?i)^(?:true|false|yes|no|on|off|none|null|[-+]?[0-9]{1,6}(?:\.[0-9]+)?[a-z]{0,3}|"
    r"debug|info|warn|warning|error|critical|trace)$"
)
_BARE_DSN = re.compile(r"^[^:/@\s]+:([^@\s]+)@\S+")
_PLACEHOLDER = re.compile(
    r"(?i)^(?:<[^>]*>|\[[^\]]*\]|x+|\*+|\.+|-+|changeme|change[-_]?me|changeit|todo|tbd|placeholder|"
    r"example|dummy|fake|test|none|null|secret|password|passwd|token|your[-_a-z0-9]*|"
    r"my[-_]?(?:secret|password|token)|replace[-_a-z0-9]*|fixme)$"
)
_REF = re.compile(r"^(?:vault:\S+#\S+|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\})$")


def name_tokens(name: str) -> list[str]:
    """MY_dbPassword2 → MY, DB, PASSWORD2 (lib/scan nameTokens)."""
    toks: list[str] = []
    cur: list[str] = []
    for i, c in enumerate(name):
        if not c.isalnum():
            if cur:
                toks.append("".join(cur).upper())
                cur = []
        elif c.isupper() and i > 0 and name[i - 1].islower():
            if cur:
                toks.append("".join(cur).upper())
            cur = [c]
        else:
            cur.append(c)
    if cur:
        toks.append("".join(cur).upper())
    return toks


def secret_looking_name(name: str) -> bool:
    """Whether a key name suggests a secret (lib/scan ClassifyName != config)."""
    toks = name_tokens(name)
    if not toks or toks[-1] in _NOT_SECRET_SUFFIX:
        return False
    for i, t in enumerate(toks):
        if t in _NAME_CLASSES:
            return True
        if t in ("KEY", "KEYS") and i > 0:
            prev = toks[i - 1]
            if prev != "PUBLIC" and (prev in _KEY_QUALIFIERS or i == len(toks) - 1):
                return True
    return False


def plain(value: str) -> bool:
    """Too short, a boolean, a short number, a log level or a common word:
    never masked unless asked for."""
    v = value.strip()
    return len(v) < MIN_LEN or bool(_PLAIN.match(v)) or v.lower() in COMMON_WORDS


def _placeholder_or_ref(v: str) -> bool:
    return bool(_PLACEHOLDER.match(v) or _REF.match(v))


def url_password(value: str) -> str | None:
    """The password of a DSN or URL with credentials, if it has one."""
    v = value.strip()
    if "://" in v:
        rest = v.split("://", 1)[1]
        try:
            p = urlsplit(v).password
        except ValueError:
            p = None
        if p is None and "@" in rest:
            userinfo = rest[: rest.rindex("@")]
            p = userinfo.split(":", 1)[1] if ":" in userinfo else None
        return p if p and not _placeholder_or_ref(p) else None
    m = _BARE_DSN.match(v)
    if m and not _placeholder_or_ref(m[1]):
        return m[1]
    return None


def entropy(s: str) -> float:
    """Shannon entropy in bits per byte (lib/scan Entropy)."""
    if not s:
        return 0.0
    data = s.encode()
    counts: dict[int, int] = {}
    for b in data:
        counts[b] = counts.get(b, 0) + 1
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def high_entropy(v: str) -> bool:
    """Looks random whatever its name (lib/scan entropyConfidence != None)."""
    if len(v) < 16 or " " in v or "\t" in v or "://" in v or v.startswith(("/", "./")):
        return False
    classes = sum(any(c in s for c in v) for s in ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"))
    return classes >= 2 and entropy(v) >= 3.8


def looks_secret(key: str, value: str) -> bool:
    """The classification of one key/value pair, without the plain floor."""
    v = value.strip()
    if not v or _REF.match(v):
        return False
    if "-----BEGIN" in v and "PRIVATE KEY" in v:
        return True
    if url_password(v) is not None:
        return True
    if secret_looking_name(key) and not _PLACEHOLDER.match(v):
        return True
    return high_entropy(v)


class Policy:
    """What to mask: ``mode`` "secrets" (the rule above) or "all" (every
    value of 4+ characters), and per-key overrides: a key name
    (``"user"``) or ``"<path>#<key>"`` mapped to True (always mask) or
    False (never)."""

    def __init__(self, mode: str = "secrets", overrides: Mapping[str, bool] | None = None) -> None:
        if mode not in ("secrets", "all"):
            from .errors import VaultConfigError

            raise VaultConfigError(f'mask must be "secrets" or "all", not {mode!r}')
        self.mode = mode
        self.overrides = dict(overrides or {})

    def _override(self, path: str, key: str) -> bool | None:
        for k in (f"{path}#{key}", key):
            if k in self.overrides:
                return self.overrides[k]
        return None

    def values_to_mask(self, path: str, key: str, value: str, *, declared: bool = False) -> Iterator[str]:
        """The strings to register for one fetched field: the value itself
        and, for JSON values, the strings inside it."""
        forced = self._override(path, key)
        if forced is False:
            return
        inherit = declared or forced is True or self.mode == "all" or looks_secret(key, value)
        yield from self._judge(key, value, inherit, forced is True or self.mode == "all")
        if value[:1] in "{[":
            try:
                tree = json.loads(value)
            except ValueError:
                return
            yield from self._walk(key, tree, inherit, forced is True or self.mode == "all")

    def _judge(self, key: str, value: str, secret: bool, everything: bool) -> Iterator[str]:
        if len(value) < MIN_LEN:
            return
        if everything or (secret and not plain(value)) or (not plain(value) and looks_secret(key, value)):
            yield value
            p = url_password(value)
            if p and not plain(p):
                yield p
        elif (p := url_password(value)) and not plain(p):
            yield p

    def _walk(self, key: str, node: Any, inherit: bool, everything: bool) -> Iterator[str]:
        if isinstance(node, dict):
            for k, v in node.items():
                yield from self._walk(str(k), v, inherit or secret_looking_name(str(k)), everything)
        elif isinstance(node, list):
            for v in node:
                yield from self._walk(key, v, inherit, everything)
        elif isinstance(node, str):
            yield from self._judge(key, node, inherit, everything)
            if node[:1] in "{[":
                try:
                    yield from self._walk(key, json.loads(node), inherit, everything)
                except ValueError:
                    pass


def credential(value: str) -> bool:
    """Whether a token, secret_id or JWT is worth masking (not a dev token
    like "root")."""
    return not plain(value)
