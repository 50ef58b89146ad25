"""Session-wide real servers: one Vault (via vaulttestd) and one PostgreSQL
shared by most tests; fault tests start their own Vault."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import REPO, Analytics, Postgres, VaultServer


@pytest.fixture(scope="session")
def vaulttestd(tmp_path_factory: pytest.TempPathFactory) -> str:
    go = shutil.which("go")
    if go is None:
        pytest.fail("go is not on PATH: the tests build lib/vaulttest/vaulttestd to run a real Vault")
    out = tmp_path_factory.mktemp("bin") / "vaulttestd"
    r = subprocess.run([go, "build", "-o", str(out), "./lib/vaulttest/vaulttestd"], cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building vaulttestd failed:\n{r.stderr}")
    return str(out)


@pytest.fixture(scope="session")
def vault(vaulttestd: str) -> Iterator[VaultServer]:
    s = VaultServer(vaulttestd)
    yield s
    s.close()


@pytest.fixture(scope="session")
def pg() -> Iterator[Postgres]:
    p = Postgres()
    yield p
    p.close()


@pytest.fixture(scope="session")
def analytics(vault: VaultServer, pg: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Analytics:
    # Tokens live 6 s so that every run longer than 4 s depends on renewal.
    return Analytics(vault, tmp_path_factory.mktemp("analytics"), pg=pg).setup(token_ttl="6s")


@pytest.fixture
def own_vault(vaulttestd: str, tmp_path: Path) -> Iterator[Analytics]:
    """A Vault of the test's own, to stop, seal or revoke things on."""
    s = VaultServer(vaulttestd)
    try:
        yield Analytics(s, tmp_path / "analytics").setup()
    finally:
        s.close()


@pytest.fixture
def canary() -> str:
    """A value that must never appear in any output."""
    return "canary-" + uuid.uuid4().hex
