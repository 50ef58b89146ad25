"""Planted canaries never reach the event log, the instance's storage,
compute logs or captured output — even from a job that logs them on
purpose at every level and fails with them in its exception."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, serialize_value

from servers import Analytics, wait_until

HERE = Path(__file__).parent


def plant(analytics: Analytics, canary: str) -> list[str]:
    values = [canary + "-password", canary + "-api-key", canary + "-nested"]
    analytics.put(
        "analytics/leak", password=values[0], api_key=values[1], credentials=json.dumps({"inner": values[2], "kind": "service"})
    )
    return values


def env_for(analytics: Analytics, home: Path) -> dict[str, str]:
    return {
        "VAULT_ADDR": analytics.server.addr,
        "VAULT_CACERT": analytics.server.ca_cert,
        "ANALYTICS_ROLE_ID_FILE": str(analytics.dir / "role_id"),
        "ANALYTICS_SECRET_ID_FILE": analytics.secret_id_file(),
        "DAGSTER_HOME": str(home),
    }


def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            if needle in p.read_bytes():
                hits.append(str(p))
    return hits


def test_in_process_run_leaks_nothing(analytics: Analytics, canary: str, tmp_path: Path, capfd: Any, monkeypatch: Any) -> None:
    secrets = plant(analytics, canary)
    home = dagster_home(tmp_path)
    for k, v in env_for(analytics, home).items():
        monkeypatch.setenv(k, v)
    import leaky_job

    instance = DagsterInstance.from_config(str(home))
    try:
        result = leaky_job.defs.get_job_def("leaky").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        logs = instance.all_logs(result.run_id)
        messages = " ".join(e.user_message for e in logs)
        assert "revealed: *****" in messages  # the filter ran, the op did log
        assert "nested: *****" in messages
        assert "deliberate failure" in serialize_value(logs)
        leaking = [
            f"{e.dagster_event_type or 'log'}: {serialize_value(e)[:2000]}" for e in logs if canary in serialize_value(e)
        ]
        assert leaking == []
        for value in secrets:
            assert value not in serialize_value(logs)
    finally:
        instance.dispose()
    out, err = capfd.readouterr()
    assert "stdout: *****" in out
    assert canary not in out and canary not in err
    assert files_containing(home, canary.encode()) == []
    assert files_containing(home, b"revealed: *****"), "the event log was not written under DAGSTER_HOME"


def test_cli_run_leaks_nothing(analytics: Analytics, canary: str, tmp_path: Path) -> None:
    plant(analytics, canary)
    home = dagster_home(tmp_path)
    dagster = Path(sys.executable).parent / "dagster"
    before = analytics.pg.roles() if analytics.pg else set()
    r = subprocess.run(
        [str(dagster), "job", "execute", "-f", str(HERE / "leaky_job.py"), "-j", "leaky"],
        env={**os.environ, **env_for(analytics, home)},
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert r.returncode != 0, r.stdout + r.stderr
    assert "deliberate failure: *****" in r.stdout + r.stderr
    assert [line for line in (r.stdout + r.stderr).splitlines() if canary in line] == []
    assert files_containing(home, canary.encode()) == []
    assert files_containing(home, b"stdout: *****"), "compute logs were not captured under DAGSTER_HOME"
    # The failed run's database user was revoked all the same.
    if analytics.pg is not None:
        pg = analytics.pg
        wait_until(lambda: pg.roles() <= before, "the failed run's database role to be dropped")


@pytest.fixture
def partner_api(canary: str) -> Any:
    """A loopback HTTP API that accepts only the current key."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    state = {"key": canary + "-partner", "calls": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            state["calls"] += 1
            ok = self.headers.get("Authorization") == f"Bearer {state['key']}"
            body = json.dumps({"status": "green"} if ok else {"error": "unauthorized"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", state
    srv.shutdown()
    srv.server_close()


def test_example_project_runs_with_dagster_cli(analytics: Analytics, canary: str, tmp_path: Path, partner_api: Any) -> None:
    url, state = partner_api
    analytics.put("analytics/partner-api", key=state["key"])
    pg = analytics.pg
    assert pg is not None
    before = pg.roles()
    home = dagster_home(tmp_path)
    env = {
        **os.environ,
        **env_for(analytics, home),
        "ANALYTICS_PG_HOST": "127.0.0.1",
        "ANALYTICS_PG_PORT": str(pg.port),
        "ANALYTICS_PARTNER_URL": url,
    }
    example = HERE.parent / "examples" / "analytics"
    dagster = Path(sys.executable).parent / "dagster"
    r = subprocess.run(
        [str(dagster), "job", "execute", "-m", "analytics.definitions", "-j", "analytics_job"],
        env=env, capture_output=True, text=True, timeout=240, cwd=example,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout + r.stderr
    assert "RUN_SUCCESS" in out or "Finished execution of run" in out
    assert "partner status: green" in out
    assert canary not in out
    assert files_containing(home, canary.encode()) == []
    wait_until(lambda: pg.roles() <= before, "the run's database role to be dropped")


def test_dagster_dev_serves_the_example_after_the_documented_install(analytics: Analytics, tmp_path: Path) -> None:
    """README's install line (dagster-vault + dagster-webserver) is enough
    for `dagster dev` on the example: the UI answers and lists its assets."""
    import signal
    import time
    import urllib.request

    from servers import free_port

    home = dagster_home(tmp_path)
    port = free_port()
    example = HERE.parent / "examples" / "analytics"
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.Popen(
        [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env_for(analytics, home)}, cwd=example,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
        deadline = time.monotonic() + 180
        body = ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(req, timeout=5) as resp:
                    body = resp.read().decode()
                if "login_roles" in body:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert "login_roles" in body and "partner_status" in body, body[-2000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert proc.returncode is not None
