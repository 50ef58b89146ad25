"""Each Dagster internal that _dagster_internals relies on still exists and
still does what the hook needs. A failure here names the internal that a
Dagster release changed: fix _dagster_internals, not the test."""

import logging
import sys
from types import SimpleNamespace
from typing import Any

import dagster
from dagster import ConfigurableResource, DagsterInstance, Definitions, OpExecutionContext, job, op
from dagster._config.pythonic_config.resource import ConfigurableResourceFactory

from dagster_vault import _dagster_internals
from dagster_vault.secret import install_error_redaction, redactor


def test_serializable_error_info_from_traceback_is_wrapped() -> None:
    cls = _dagster_internals.serializable_error_info()
    assert hasattr(cls, "from_traceback"), f"SerializableErrorInfo.from_traceback is gone in Dagster {dagster.__version__}"
    install_error_redaction()
    assert getattr(cls, "_dagster_vault_patched", False)
    redactor().add("internals-canary-7f3a9c")
    try:
        raise RuntimeError("failed with internals-canary-7f3a9c")
    except RuntimeError:
        info = dagster._utils.error.serializable_error_info_from_exc_info(sys.exc_info())
    assert "internals-canary-7f3a9c" not in info.to_string(), (
        "serializable_error_info_from_exc_info no longer goes through SerializableErrorInfo.from_traceback"
    )


def test_log_manager_exposes_its_handlers_and_loggers() -> None:
    seen: dict[str, Any] = {}

    @op
    def look(context: OpExecutionContext) -> None:
        log = context.log
        handler = getattr(log, "_dagster_handler", None)
        seen["handler"] = handler is not None
        seen["handlers"] = handler is not None and isinstance(getattr(handler, "_handlers", None), (list, tuple))
        seen["loggers"] = handler is not None and isinstance(getattr(handler, "_loggers", None), (list, tuple))
        seen["managed"] = isinstance(getattr(log, "_managed_loggers", None), (list, tuple))
        seen["targets"] = _dagster_internals.log_targets(log)

    @job
    def j() -> None:
        look()

    assert j.execute_in_process().success
    assert seen["handler"], "DagsterLogManager._dagster_handler is gone"
    assert seen["handlers"], "DagsterLogHandler._handlers is gone"
    assert seen["loggers"], "DagsterLogHandler._loggers is gone"
    assert seen["managed"], "DagsterLogManager._managed_loggers is gone"
    # The event log's handler is among the targets: masking reaches it.
    assert any(isinstance(t, logging.Handler) for t in seen["targets"]), "no handler to attach the filter to"


def test_finished_run_is_recognised_when_resources_are_rebuilt() -> None:
    seen: list[bool] = []

    class Probe(ConfigurableResource):
        def setup_for_execution(self, context: Any) -> None:
            seen.append(_dagster_internals.run_is_finished(context))

    @op
    def uses(probe: Probe) -> None:
        pass

    @job
    def j() -> None:
        uses()

    instance = DagsterInstance.ephemeral()
    defs = Definitions(jobs=[j], resources={"probe": Probe()})
    assert defs.get_job_def("j").execute_in_process(instance=instance).success
    assert seen and seen[0] is False, "a running run looks finished (DagsterRun.is_finished)"
    # What JobExecutionResult's rebuild gets: the reloaded, finished run.
    run = instance.get_runs()[0]
    assert _dagster_internals.run_is_finished(SimpleNamespace(dagster_run=run)), "DagsterRun.is_finished is gone or changed"


def test_yield_for_execution_hook_runs_before_setup() -> None:
    calls: list[str] = []
    _dagster_internals.resolve_fields_at_run(lambda r, c: None)  # the hook dagster-vault installs
    assert getattr(ConfigurableResourceFactory.yield_for_execution, "_dagster_vault_patched", False)
    original = ConfigurableResourceFactory.yield_for_execution

    class Nested(ConfigurableResource):
        pass

    class Outer(ConfigurableResource):
        nested: Nested
        value: str = "x"

        def setup_for_execution(self, context: Any) -> None:
            calls.append(f"setup:{self.value}")

    def resolve(resource: Any, context: Any) -> None:
        if isinstance(resource, Outer):
            calls.append("resolve")
            _dagster_internals.set_field(resource, "value", "resolved")

    # Swap the resolver the installed hook calls, for this test only.
    import contextlib

    @contextlib.contextmanager
    def probe(self: Any, context: Any) -> Any:
        resolve(self, context)
        with original.__wrapped__(self, context) as v:  # type: ignore[attr-defined]
            yield v

    ConfigurableResourceFactory.yield_for_execution = probe  # type: ignore[method-assign]
    try:

        @op
        def uses(outer: Outer) -> None:
            calls.append(f"op:{outer.value}")

        @job(resource_defs={"outer": Outer(nested=Nested())})
        def j() -> None:
            uses()

        assert j.execute_in_process().success
    finally:
        ConfigurableResourceFactory.yield_for_execution = original  # type: ignore[method-assign]
    assert calls == ["resolve", "setup:resolved", "op:resolved"], (
        "ConfigurableResourceFactory.yield_for_execution no longer runs setup_for_execution on the instance the op gets"
    )
