"""One login per process, counted in Vault's audit log, through the
`dagster job execute` CLI: the post-run resource rebuild in the CLI's
process costs nothing, and remove_secret_id_file works single-process."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import Analytics
from test_leak import dagster_home, env_for

HERE = Path(__file__).parent


@pytest.fixture
def audit(analytics: Analytics, tmp_path: Path) -> Iterator[Path]:
    """A file audit device on the shared server, for this test only."""
    root = analytics.server.root()
    log = tmp_path / "audit.log"
    name = f"file-{uuid.uuid4().hex[:8]}"
    root.sys.enable_audit_device("file", path=name, options={"file_path": str(log)})
    try:
        yield log
    finally:
        root.sys.disable_audit_device(name)


def requests_to(log: Path, path: str) -> int:
    n = 0
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "request" and entry.get("request", {}).get("path") == path:
            n += 1
    return n


def execute(analytics: Analytics, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    home = dagster_home(tmp_path)
    full = {**os.environ, **env_for(analytics, home), **env}
    dagster = Path(sys.executable).parent / "dagster"
    r = subprocess.run(
        [str(dagster), "job", "execute", "-f", str(HERE / "two_step_job.py"), "-j", "two_step"],
        env=full, capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    return r, full


@pytest.mark.parametrize("executor, processes", [("multiprocess", 2), ("in_process", 1)])
def test_one_login_per_process(analytics: Analytics, canary: str, tmp_path: Path, audit: Path, executor: str, processes: int) -> None:
    analytics.put("analytics/two-step", token=canary + "-two")
    r, _ = execute(analytics, tmp_path, TWO_STEP_EXECUTOR=executor)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "RUN_SUCCESS" in out
    # multiprocess: one login in each step's process, none in the CLI's;
    # in_process: one for the whole run.
    assert requests_to(audit, "auth/approle/login") == processes
    assert requests_to(audit, "auth/token/revoke-self") == processes
    assert canary not in out


def test_remove_secret_id_file_single_process_exits_0(analytics: Analytics, canary: str, tmp_path: Path, audit: Any) -> None:
    analytics.put("analytics/two-step", token=canary + "-two")
    r, env = execute(analytics, tmp_path, TWO_STEP_EXECUTOR="in_process", TWO_STEP_REMOVE_SECRET_ID="1")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert not os.path.exists(env["ANALYTICS_SECRET_ID_FILE"])
    assert requests_to(audit, "auth/approle/login") == 1
    assert "Traceback" not in out


@pytest.mark.parametrize("executor", ["multiprocess", "in_process"])
def test_vault_down_is_reported_once_per_step(own_vault: Analytics, tmp_path: Path, executor: str) -> None:
    """The failed step says it once, naming the address, and Dagster repeats
    it once at the end (the CLI's final error, or RUN_FAILURE in process);
    the CLI's post-run rebuild adds nothing. It used to be 9-11 times."""
    home = dagster_home(tmp_path)
    full = {**os.environ, **env_for(own_vault, home), "TWO_STEP_EXECUTOR": executor}
    own_vault.server.command("stop")
    dagster = Path(sys.executable).parent / "dagster"
    r = subprocess.run(
        [str(dagster), "job", "execute", "-f", str(HERE / "two_step_job.py"), "-j", "two_step"],
        env=full, capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    out = r.stdout + r.stderr
    assert r.returncode != 0
    lines = [line for line in out.splitlines() if "is unreachable" in line]
    assert lines and all(f"Vault at {own_vault.server.addr}" in line for line in lines), out[-6000:]
    assert len(lines) <= 2, "\n".join(lines)
