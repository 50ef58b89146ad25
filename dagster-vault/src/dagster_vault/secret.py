"""The Secret wrapper every fetched value travels in, and the redaction
registry that keeps fetched values out of Dagster's logs and event log."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

MASK = "*****"

# Shorter values would blank out ordinary words in every log line; nothing
# that short is a credential worth the damage. Which longer values are
# registered is the rule of masking.py.
MIN_REDACT_LEN = 4


class Secret:
    """A secret value that never shows itself: ``str()``, ``repr()``,
    f-strings and pickling all refuse; ``reveal()`` hands over the value.

    Two Secrets compare equal when their values do, so a caller can tell a
    rotated value from the old one without revealing either.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret takes a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The plain value. Pass it straight to the library that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> NoReturn:
        # Pickling would write the value to an IO manager or a subprocess pipe.
        raise TypeError("a Secret cannot be pickled; pass secret references, not values, between steps")


class Redactor:
    """The set of values this process has fetched from Vault, and the masking
    of them in any text. Thread-safe; values are only ever added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._ordered: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        if len(value) < MIN_REDACT_LEN or value in self._values:
            return
        with self._lock:
            values = self._values | {value}
            # Longest first, so a value containing another is masked whole.
            self._ordered = tuple(sorted(values, key=len, reverse=True))
            self._values = values

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __len__(self) -> int:
        return len(self._values)

    def redact(self, text: str) -> str:
        for value in self._ordered:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def found_in(self, text: str) -> bool:
        return any(value in text for value in self._ordered)


_redactor: Redactor | None = None
_redactor_lock = threading.Lock()


def redactor() -> Redactor:
    """The process-wide registry (created on first use)."""
    global _redactor
    if _redactor is None:
        with _redactor_lock:
            if _redactor is None:
                _redactor = Redactor()
    return _redactor


def register(value: str) -> Secret:
    """Wrap value and register it for redaction, whatever it looks like
    (for values the caller knows are secret)."""
    redactor().add(value)
    return Secret(value)


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered values in a record's message,
    its arguments, and — for records Dagster has converted — the message and
    DagsterEvent (including serialized errors) that go to the event log."""

    _DONE = "_dagster_vault_redacted"

    def __init__(self, registry: Redactor | None = None) -> None:
        super().__init__("dagster_vault")
        self._registry = registry

    @property
    def registry(self) -> Redactor:
        return self._registry or redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        reg = self.registry
        if not len(reg):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; still mask what we can
            message = str(record.msg)
        if reg.found_in(message):
            record.msg = reg.redact(message)
            record.args = ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Formatters reuse exc_text when set: format the traceback once,
            # masked, so no handler formats the raw one.
            text = logging.Formatter().formatException(record.exc_info)
            if reg.found_in(text):
                record.exc_text = reg.redact(text)
                exc = record.exc_info[1]
                record.exc_info = (record.exc_info[0], _RedactedException(reg.redact(str(exc))), record.exc_info[2])
        if record.exc_text and reg.found_in(record.exc_text):
            record.exc_text = reg.redact(record.exc_text)
        meta = getattr(record, "dagster_meta", None)
        if isinstance(meta, dict) and not getattr(record, self._DONE, False):
            _redact_dagster_meta(meta, reg)
            setattr(record, self._DONE, True)
        event = getattr(record, "dagster_event", None)
        if event is not None:
            redacted = _redact_event(event, reg)
            if redacted is not event:
                record.dagster_event = redacted
        return True


class _RedactedException(Exception):
    pass


def _redact_dagster_meta(meta: dict[str, Any], reg: Redactor) -> None:
    orig = meta.get("orig_message")
    if isinstance(orig, str) and reg.found_in(orig):
        meta["orig_message"] = reg.redact(orig)
    event = meta.get("dagster_event")
    if event is not None:
        meta["dagster_event"] = _redact_event(event, reg)


def _redact_event(event: Any, reg: Redactor) -> Any:
    """Round-trip a DagsterEvent through Dagster's own serializer, masking
    values in the serialized form: it reaches error messages, stack traces
    and metadata without knowing each event type's shape."""
    from dagster import deserialize_value, serialize_value

    try:
        text = serialize_value(event)
    except Exception:
        return event
    if not reg.found_in(text):
        return event
    masked = text
    for value in reg._ordered:
        # A value as it appears inside a JSON string.
        encoded = json.dumps(value)[1:-1]
        masked = masked.replace(encoded, MASK)
        masked = masked.replace(value, MASK)
    try:
        return deserialize_value(masked)
    except Exception:
        return event


def install_error_redaction() -> None:
    """Mask registered values in every error Dagster serializes in this
    process.

    A step's failure becomes a SerializableErrorInfo that is yielded to the
    orchestrator (the parent process, with the multiprocess executor) and
    copied into the RUN_FAILURE event there, without passing any log filter
    of this process. Dagster offers no hook for it, so the one constructor
    from exceptions, ``SerializableErrorInfo.from_traceback``, is wrapped
    (see _dagster_internals): the error leaves this process already masked.
    """
    from . import _dagster_internals

    def mask(cls: Any, info: Any) -> Any:
        reg = redactor()
        if not len(reg) or not reg.found_in(info.to_string()):
            return info
        return _redacted_info(cls, info, reg)

    _dagster_internals.wrap_from_traceback(mask)


def _redacted_info(cls: Any, info: Any, reg: Redactor) -> Any:
    if info is None:
        return None
    return cls(
        message=reg.redact(info.message),
        stack=[reg.redact(line) for line in info.stack],
        cls_name=info.cls_name,
        cause=_redacted_info(cls, info.cause, reg),
        context=_redacted_info(cls, info.context, reg),
    )


class SecretData(Mapping[str, Secret]):
    """One version of a KV v2 secret: its keys mapped to Secrets, plus
    the version's metadata. Safe to log: repr shows keys, never values."""

    def __init__(
        self,
        path: str,
        data: Mapping[str, Secret],
        *,
        mount: str,
        version: int | None,
        created_time: str | None,
        custom_metadata: Mapping[str, str] | None,
    ) -> None:
        self.path = path
        self.mount = mount
        self.version = version
        self.created_time = created_time
        self.custom_metadata: dict[str, str] = dict(custom_metadata or {})
        self._data = dict(data)

    def __getitem__(self, key: str) -> Secret:
        try:
            return self._data[key]
        except KeyError:
            from .errors import VaultKeyNotFoundError

            raise VaultKeyNotFoundError(
                f"read {self.mount}/data/{self.path}: no key {key!r} (keys: {', '.join(sorted(self._data)) or 'none'})",
                path=f"{self.mount}/data/{self.path}",
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def reveal(self) -> dict[str, str]:
        """All keys with plain values."""
        return {k: v.reveal() for k, v in self._data.items()}

    def __repr__(self) -> str:
        return (
            f"SecretData(path={self.mount + '/data/' + self.path!r}, version={self.version!r}, "
            f"keys={sorted(self._data)!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("SecretData cannot be pickled; pass secret references, not values, between steps")
