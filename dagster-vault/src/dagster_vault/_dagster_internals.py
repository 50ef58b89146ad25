"""Every use of a Dagster internal, in one place.

Dagster offers no public hook for what these do. Each one is checked by
tests/test_dagster_internals.py, which fails loudly (naming the internal)
when a Dagster release moves or changes it; the suite runs against the
lowest and the newest Dagster that pyproject.toml allows.

1. ``SerializableErrorInfo.from_traceback`` (dagster_shared.error, from
   Dagster 1.10.12): wrapped so a step's error is masked before it leaves
   the step process.
2. ``DagsterLogManager._dagster_handler`` with ``_handlers``/``_loggers``,
   and ``_managed_loggers``: where the masking filter is attached.
3. ``ConfigurableResourceFactory.yield_for_execution``: wrapped so a field
   whose default is a ``VaultSecret`` holds the value (a Secret) while the
   resource runs.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

_PATCHED = "_dagster_vault_patched"


def serializable_error_info() -> Any:
    from dagster_shared.error import SerializableErrorInfo

    return SerializableErrorInfo


def wrap_from_traceback(mask: Callable[[Any, Any], Any]) -> None:
    """Make ``SerializableErrorInfo.from_traceback`` return ``mask(cls, info)``."""
    cls = serializable_error_info()
    if getattr(cls, _PATCHED, False):
        return
    original = cls.from_traceback.__func__

    def from_traceback(klass: Any, tb: Any) -> Any:
        return mask(klass, original(klass, tb))

    cls.from_traceback = classmethod(from_traceback)
    setattr(cls, _PATCHED, True)


def log_targets(log: Any) -> list[Any]:
    """The handlers and loggers a Dagster log manager writes through (the
    event log's handler among them; step log managers share them)."""
    targets: list[Any] = []
    handler = getattr(log, "_dagster_handler", None)
    if handler is not None:
        targets += list(getattr(handler, "_handlers", ()))
        targets += list(getattr(handler, "_loggers", ()))
    for lg in getattr(log, "_managed_loggers", ()):
        if isinstance(lg, logging.Logger):
            targets.append(lg)
            targets += [h for h in lg.handlers if type(h).__name__ != "DagsterLogHandler"]
    return targets


def run_is_finished(context: Any) -> bool:
    """Whether a resource is being built for a run that already ended:
    ``dagster job execute`` rebuilds resources in the parent process after
    RUN_SUCCESS (JobExecutionResult's scoped_job_context) with the reloaded,
    finished run."""
    run = getattr(context, "dagster_run", None)
    return bool(run is not None and getattr(run, "is_finished", False))


def resolve_fields_at_run(resolve: Callable[[Any, Any], None]) -> None:
    """Call ``resolve(resource, context)`` on every ConfigurableResource
    whose class does not override ``yield_for_execution`` (Dagster's
    default calls ``setup_for_execution``), before its setup."""
    from dagster import ConfigurableResource
    from dagster._config.pythonic_config.resource import ConfigurableResourceFactory

    base: Any = ConfigurableResourceFactory
    if getattr(base.yield_for_execution, _PATCHED, False):
        return
    original = base.yield_for_execution

    @functools.wraps(original)
    @contextlib.contextmanager
    def yield_for_execution(self: Any, context: Any) -> Iterator[Any]:
        if isinstance(self, ConfigurableResource):
            resolve(self, context)
        with original(self, context) as value:
            yield value

    setattr(yield_for_execution, _PATCHED, True)
    base.yield_for_execution = yield_for_execution


def set_field(resource: Any, name: str, value: Any) -> None:
    """Replace a field of a (frozen) resource instance for this run."""
    object.__setattr__(resource, name, value)
