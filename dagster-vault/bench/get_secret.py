"""Benchmark: VaultResource.get_secret against a raw hvac read over the same
connection, and the time to fetch 100 secrets for one run.

Starts its own Vault (lib/vaulttest/vaulttestd, built with go) and logs in
with the "analytics" AppRole, as a run would. Prints one JSON document.

Usage: .venv/bin/python dagster-vault/bench/get_secret.py [-n READS]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from dagster import build_resources  # noqa: E402

from dagster_vault import VaultResource  # noqa: E402
from servers import REPO, Analytics, VaultServer  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(x: float) -> float:
    return round(x * 1000, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="reads per variant")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dagster-vault-bench-"))
    binary = tmp / "vaulttestd"
    subprocess.run(["go", "build", "-o", str(binary), "./lib/vaulttest/vaulttestd"], cwd=REPO, check=True)
    server = VaultServer(str(binary))
    try:
        a = Analytics(server, tmp / "analytics").setup()
        a.put("analytics/bench", password="bench-value-0123456789", user="etl")
        for i in range(100):
            a.put(f"analytics/run/{i}", value=f"bench-run-value-{i:03d}")
        out: dict[str, Any] = {"reads": args.n}
        with build_resources({"vault": VaultResource(**a.resource_config())}) as r:
            vault: VaultResource = r.vault
            client = vault.client

            def raw() -> None:
                client.secrets.kv.v2.read_secret_version(
                    path="analytics/bench", mount_point="secret", raise_on_deleted_version=True
                )["data"]["data"]["password"]

            def wrapped() -> None:
                vault.get_secret("analytics/bench", "password", refresh=True).reveal()

            def cached() -> None:
                vault.get_secret("analytics/bench", "password").reveal()

            fns: dict[str, Callable[[], None]] = {"raw_hvac": raw, "get_secret": wrapped, "get_secret_cached": cached}
            for f in fns.values():
                for _ in range(200):
                    f()
            times: dict[str, list[float]] = {k: [] for k in fns}
            # Interleaved, so drift on a shared machine hits every variant alike.
            for _ in range(args.n):
                for k, f in fns.items():
                    t0 = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t0)
            for k, xs in times.items():
                out[k] = {"p50_ms": ms(statistics.median(xs)), "p95_ms": ms(pct(xs, 95)), "p99_ms": ms(pct(xs, 99))}
            out["ratio_p50"] = round(statistics.median(times["get_secret"]) / statistics.median(times["raw_hvac"]), 3)
            out["ratio_p95"] = round(pct(times["get_secret"], 95) / pct(times["raw_hvac"], 95), 3)

        paths = [f"analytics/run/{i}" for i in range(100)]
        runs = []
        for _ in range(5):
            # A fresh session each time, as each run logs in and starts cold.
            t0 = time.perf_counter()
            with build_resources({"vault": VaultResource(**a.resource_config())}) as r:
                t1 = time.perf_counter()
                got = r.vault.get_secrets(paths)
                t2 = time.perf_counter()
            assert len(got) == 100
            runs.append((t1 - t0, t2 - t1))
        seq = []
        with build_resources({"vault": VaultResource(**a.resource_config())}) as r:
            for _ in range(5):
                t0 = time.perf_counter()
                for p in paths:
                    r.vault.get_secret(p, refresh=True)
                seq.append(time.perf_counter() - t0)
        out["fetch_100"] = {
            "login_setup_ms_median": ms(statistics.median(x for x, _ in runs)),
            "parallel_get_secrets_ms_median": ms(statistics.median(y for _, y in runs)),
            "sequential_get_secret_ms_median": ms(statistics.median(seq)),
        }
        print(json.dumps(out, indent=2))
    finally:
        server.close()


if __name__ == "__main__":
    main()
