"""dagster-vault across a vault-rotate rotation, with dagster-vault's existing
API only: a run that began before the rotation finishes with the value it
first read (the resource's per-run cache), even while and after vault-rotate
promotes a new one; the next run reads the new value; the previous version
stays readable by number, as custom_metadata's previous.<key> names it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dagster import In, Nothing, job, op

from dagster_vault import VaultResource
from servers import REPO, Analytics, wait_until

SLOW_TEST_HOOK = """read -r req
touch in-test
i=0
while [ ! -e release ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
echo '{"ok": true}'
"""


@pytest.fixture(scope="session")
def vault_rotate(tmp_path_factory: pytest.TempPathFactory) -> str:
    go = shutil.which("go")
    if go is None:
        pytest.fail("go is not on PATH: the test builds cmd/vault-rotate")
    out = tmp_path_factory.mktemp("bin") / "vault-rotate"
    r = subprocess.run([go, "build", "-o", str(out), "./cmd/vault-rotate"], cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building vault-rotate failed:\n{r.stderr}")
    return str(out)


def test_run_started_before_rotation_keeps_its_value(
    analytics: Analytics, vault_rotate: str, tmp_path: Path, canary: str, capfd: pytest.CaptureFixture[str]
) -> None:
    old = canary + "-old"
    analytics.put("analytics/rotating", token=old, user="etl")
    (tmp_path / "slow-test.sh").write_text(SLOW_TEST_HOOK)
    (tmp_path / "rotation.hcl").write_text(
        'secret "analytics/rotating" {\n  key = "token"\n  class = "api_key"\n'
        '  test {\n    command = ["sh", "slow-test.sh"]\n    timeout = "2m"\n  }\n}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(VAULT_ADDR=analytics.server.addr, VAULT_CACERT=analytics.server.ca_cert, VAULT_TOKEN=analytics.server.root_token)
    seen: dict[str, Any] = {}

    @op
    def before(vault: VaultResource) -> None:
        seen["before"] = vault.get_secret("analytics/rotating", "token").reveal()
        rot = subprocess.Popen(
            [vault_rotate, "run", "--file", "rotation.hcl", "--path", "analytics/rotating"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        wait_until(lambda: (tmp_path / "in-test").exists() or rot.poll() is not None, "the test hook to start")
        # While the new value is being tested, even a fresh read gets the old one.
        seen["during"] = vault.get_secret("analytics/rotating", "token", refresh=True).reveal()
        (tmp_path / "release").touch()
        out, err = rot.communicate(timeout=120)
        seen["rotate"] = (rot.returncode, out, err)

    @op(ins={"start": In(Nothing)})
    def after(vault: VaultResource) -> None:
        seen["after"] = vault.get_secret("analytics/rotating", "token").reveal()

    @job
    def spans_rotation() -> None:
        after(start=before())

    assert spans_rotation.execute_in_process(resources={"vault": VaultResource(**analytics.resource_config())}).success
    code, out, err = seen["rotate"]
    assert code == 0, err
    assert '"action":"rotated"' in out
    assert seen["before"] == old
    assert seen["during"] == old
    assert seen["after"] == old, "a run that began before the rotation must finish with its value"

    @op
    def next_run(vault: VaultResource) -> None:
        seen["next"] = vault.get_secret("analytics/rotating", "token").reveal()
        meta = vault.get_metadata("analytics/rotating")
        prev = int(meta.custom_metadata["previous.token"])
        seen["previous"] = vault.get_secret("analytics/rotating", "token", version=prev).reveal()
        seen["user"] = vault.get_secret("analytics/rotating", "user").reveal()

    @job
    def later() -> None:
        next_run()

    assert later.execute_in_process(resources={"vault": VaultResource(**analytics.resource_config())}).success
    assert seen["next"] != old and len(seen["next"]) == 32
    assert seen["previous"] == old
    assert seen["user"] == "etl"
    captured = capfd.readouterr()
    for value in (old, seen["next"]):
        assert value not in captured.out + captured.err + out + err
