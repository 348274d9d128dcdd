"""Foundation figures: cold start, token validation and rescoping latency, password
token issue (with the share its bcrypt check takes) and the idle process's RSS.

Run: `.venv/bin/python bench/identity.py` (or `make bench`). It starts real `nimbus up`
processes on free ports with the production password cost, and prints one line per
figure. Requests are sequential over one keep-alive connection, timed at the client.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bcrypt
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nimbus.identity.passwords import DEFAULT_ROUNDS
from tests.processes import free_offset, rc_environment

REQUESTS = 1000
ISSUES = 30


def _start(data_dir: Path, offset: int) -> tuple[subprocess.Popen[str], float]:
    """Start `nimbus up`; return the process and seconds until its ready line."""
    env = {**os.environ, "NIMBUS_PASSWORD_ROUNDS": str(DEFAULT_ROUNDS)}
    began = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nimbus.cli",
            "up",
            "--data-dir",
            str(data_dir),
            "--driver",
            "fake",
            "--port-offset",
            str(offset),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("nimbus ready:"):
            return process, time.perf_counter() - began
    raise RuntimeError("nimbus up did not become ready")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(30)


def _percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.2f} ms, p95 {cuts[94] * 1000:.2f} ms"


def _timed(call: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def _password_auth(env: dict[str, str]) -> dict:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": env["OS_USERNAME"],
                        "domain": {"name": "Default"},
                        "password": env["OS_PASSWORD"],
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }
    }


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="nimbus-bench-"))
    data_dir = workdir / "cloud"
    try:
        process, first = _start(data_dir, free_offset())
        _stop(process)
        print(f"nimbus up, first start on an empty data dir (migrate + bootstrap): {first:.2f} s")
        starts = []
        for _ in range(5):
            process, seconds = _start(data_dir, free_offset())
            starts.append(seconds)
            _stop(process)
        print(
            f"nimbus up, start on an existing data dir: median {statistics.median(starts):.2f} s "
            f"(min {min(starts):.2f}, max {max(starts):.2f}, 5 runs)"
        )

        offset = free_offset()
        process, _ = _start(data_dir, offset)
        env = rc_environment(data_dir / "adminrc")
        try:
            with httpx.Client(base_url=env["OS_AUTH_URL"].removesuffix("/v3")) as client:
                issue = client.post("/v3/auth/tokens", json=_password_auth(env))
                token = issue.headers["x-subject-token"]
                headers = {"X-Auth-Token": token, "X-Subject-Token": token}

                def validate() -> None:
                    assert (
                        client.get("/v3/auth/tokens?nocatalog", headers=headers).status_code == 200
                    )

                def rescope() -> None:
                    body = {
                        "auth": {
                            "identity": {"methods": ["token"], "token": {"id": token}},
                            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
                        }
                    }
                    assert client.post("/v3/auth/tokens?nocatalog", json=body).status_code == 201

                def password_issue() -> None:
                    assert (
                        client.post("/v3/auth/tokens", json=_password_auth(env)).status_code == 201
                    )

                _timed(validate, 50)
                print(
                    f"token validation (GET /v3/auth/tokens), {REQUESTS} requests: "
                    f"{_percentiles(_timed(validate, REQUESTS))}"
                )
                print(
                    f"token-method rescoping (POST /v3/auth/tokens), {REQUESTS} requests: "
                    f"{_percentiles(_timed(rescope, REQUESTS))}"
                )
                issue_p50 = statistics.median(_timed(password_issue, ISSUES))
                hashed = bcrypt.hashpw(b"benchmark", bcrypt.gensalt(DEFAULT_ROUNDS))
                check_p50 = statistics.median(
                    _timed(lambda: bcrypt.checkpw(b"benchmark", hashed), ISSUES)
                )
                print(
                    f"password token issue, {ISSUES} requests: p50 {issue_p50 * 1000:.1f} ms, "
                    f"of which the bcrypt check (cost {DEFAULT_ROUNDS}) "
                    f"{check_p50 * 1000:.1f} ms ({check_p50 / issue_p50:.0%})"
                )
            time.sleep(2)
            print(f"idle RSS of the all-in-one process: {_rss_mib(process.pid):.1f} MiB")
        finally:
            _stop(process)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
