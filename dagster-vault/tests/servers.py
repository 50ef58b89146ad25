"""Real servers for the tests: a Vault started by the repository's Go helper
vaulttestd, and a throwaway PostgreSQL cluster from Debian's package."""

from __future__ import annotations

import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hvac

REPO = Path(__file__).resolve().parents[2]
POLICY_FILE = REPO / "policies" / "acl" / "dagster-analytics.hcl"
APPROLE_FILE = REPO / "policies" / "approles" / "dagster-analytics.hcl"
ROLE = "dagster-analytics"


def approle_settings(path: Path = APPROLE_FILE) -> dict[str, Any]:
    """The AppRole as code: the flat `name = value` HCL of policies/approles,
    whose values are JSON literals (strings, numbers, lists of strings)."""
    settings: dict[str, Any] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)", line)
        if not m:
            raise ValueError(f"{path}:{n}: not a `name = value` line")
        try:
            settings[m[1]] = json.loads(m[2])
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: value of {m[1]} is not a plain literal: {e}") from None
    return settings


class VaultServer:
    """One vaulttestd process and the TLS+raft Vault it runs."""

    def __init__(self, binary: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [binary, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait()
            raise RuntimeError(f"vaulttestd did not start: {err.strip()}")
        info = json.loads(line)
        self.addr: str = info["addr"]
        self.ca_cert: str = info["ca_cert"]
        self.root_token: str = info["token"]
        self.dir: str = info["dir"]
        self.log: str = info["log"]

    def root(self) -> hvac.Client:
        return hvac.Client(url=self.addr, token=self.root_token, verify=self.ca_cert, timeout=30)

    def command(self, op: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(op + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if not answer.get("ok"):
            raise RuntimeError(f"vaulttestd {op}: {answer.get('error')}")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    return Path(found[-1]).parent


class Postgres:
    """A PostgreSQL cluster in a temp dir on a free loopback port, run as the
    postgres user when we are root (the server refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="dagster-vault-pg-"))
        self.port = free_port()
        self.password = "pg-" + uuid.uuid4().hex
        self.user = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        os.chmod(pwfile, 0o600)
        if self._as:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        data = self.dir / "data"
        self._run(
            str(self.bin / "initdb"), "-D", str(data), "-U", self.user, "--pwfile", str(pwfile),
            "--auth=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C",
        )
        pwfile.unlink()
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-w", "-t", "60",
            "-o", f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} -c fsync=off",
            "start",
        )
        self.data = data

    def _run(self, *args: str) -> None:
        r = subprocess.run([*self._as, *args], capture_output=True, text=True, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {r.stdout}{r.stderr}")

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, dbname="postgres",
            user=user or self.user, password=password or self.password, connect_timeout=10, autocommit=True,
        )

    def roles(self) -> set[str]:
        with self.connect() as c:
            return {r[0] for r in c.execute("select rolname from pg_roles").fetchall()}

    def close(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Analytics:
    """The code location "analytics" set up on a server: its policy and
    AppRole read from policies/acl and policies/approles, KV secrets under
    secret/analytics/, and — when a PostgreSQL is given — the database role
    analytics-ro (ttl 5s, max 60s)."""

    server: VaultServer
    dir: Path
    role_id: str = ""
    pg: Postgres | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def setup(self, *, token_ttl: str = "60s", token_max_ttl: str = "8h") -> Analytics:
        root = self.server.root()
        if "approle/" not in root.sys.list_auth_methods():
            root.sys.enable_auth_method("approle")
        root.sys.create_or_update_policy("dagster-analytics", POLICY_FILE.read_text())
        settings = approle_settings()
        policies = settings.pop("policies")
        # The role as policies/ defines it, except token lifetimes: tests
        # shorten them so that runs depend on renewal.
        settings.update(token_ttl=token_ttl, token_max_ttl=token_max_ttl)
        root.write(f"auth/approle/role/{ROLE}", token_policies=policies, token_type="service", **settings)
        self.role_id = root.read(f"auth/approle/role/{ROLE}/role-id")["data"]["role_id"]
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "role_id").write_text(self.role_id + "\n")
        if self.pg is not None:
            if "database/" not in root.sys.list_mounted_secrets_engines():
                root.sys.enable_secrets_engine("database")
            root.write(
                "database/config/analytics-pg",
                plugin_name="postgresql-database-plugin",
                connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{self.pg.port}/postgres?sslmode=disable",
                username=self.pg.user,
                password=self.pg.password,
                allowed_roles="analytics-*",
                verify_connection=True,
            )
            root.write(
                "database/roles/analytics-ro",
                db_name="analytics-pg",
                creation_statements=[
                    """CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';""",
                    """GRANT pg_read_all_data TO "{{name}}";""",
                ],
                default_ttl="5s",
                max_ttl="60s",
            )
        return self

    def secret_id_file(self) -> str:
        """A fresh secret_id in a 0600 file (what a deploy step would write)."""
        sid = self.server.root().write(f"auth/approle/role/{ROLE}/secret-id")["data"]["secret_id"]
        path = self.dir / f"secret_id-{uuid.uuid4().hex[:8]}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(sid + "\n")
        return str(path)

    def put(self, path: str, **data: str) -> int:
        resp = self.server.root().secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point="secret")
        return int(resp["data"]["version"])

    def resource_config(self, **over: Any) -> dict[str, Any]:
        from dagster_vault import AppRoleAuth

        cfg: dict[str, Any] = dict(
            url=self.server.addr,
            ca_cert=self.server.ca_cert,
            approle=AppRoleAuth(role_id_file=str(self.dir / "role_id"), secret_id_file=self.secret_id_file()),
            retry_backoff=0.05,
        )
        cfg.update(over)
        return cfg


def wait_until(cond: Any, what: str, limit: float = 30.0) -> None:
    """Poll cond until true; a bound, not a speed assertion."""
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what} after {limit:.0f}s")
        time.sleep(0.1)
