"""`nimbus up` and `nimbus serve` as real processes."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from nimbus.config import SERVICE_PORTS
from tests.db.conftest import server_database
from tests.processes import NIMBUS, free_offset, rc_environment, start

pytestmark = pytest.mark.system


def _token(base: str, password: str) -> str:
    response = httpx.post(
        f"{base}/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "admin", "domain": {"id": "default"}, "password": password}
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
            }
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def _children(pid: int) -> list[str]:
    result = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    )
    return result.stdout.split()


def test_up_writes_rc_files_stops_cleanly_and_restarts_with_its_state(tmp_path: Path) -> None:
    data_dir = tmp_path / "cloud"
    offset = free_offset()
    first = start(["up", "--data-dir", str(data_dir), "--driver", "fake"], offset=offset)
    try:
        assert any(line.startswith("admin password") for line in first.lines)
        env = rc_environment(data_dir / "adminrc")
        assert env["OS_AUTH_URL"] == f"{first.url()}/v3"
        assert (data_dir / "clouds.yaml").read_text().count(env["OS_PASSWORD"]) == 1
        assert oct((data_dir / "adminrc").stat().st_mode & 0o777) == "0o600"
        token = _token(first.url(), env["OS_PASSWORD"])
        created = httpx.post(
            f"{first.url()}/v3/projects",
            headers={"X-Auth-Token": token},
            json={"project": {"name": "survivor"}},
        )
        assert created.status_code == 201
        assert _children(first.process.pid) == []
    finally:
        assert first.stop() == 0

    moved = free_offset()
    second = start(["up", "--data-dir", str(data_dir), "--driver", "fake"], offset=moved)
    try:
        assert not any(line.startswith("admin password") for line in second.lines)
        env = rc_environment(data_dir / "adminrc")
        assert env["OS_AUTH_URL"] == f"{second.url()}/v3"
        token = _token(second.url(), env["OS_PASSWORD"])
        listed = httpx.get(
            f"{second.url()}/v3/projects",
            headers={"X-Auth-Token": token},
            params={"name": "survivor"},
        )
        assert [p["name"] for p in listed.json()["projects"]] == ["survivor"]
        catalog = httpx.get(f"{second.url()}/v3/auth/catalog", headers={"X-Auth-Token": token})
        ports = {
            e["url"].split(":")[2].split("/")[0]
            for s in catalog.json()["catalog"]
            for e in s["endpoints"]
        }
        assert all(int(port) - moved in SERVICE_PORTS.values() for port in ports), ports
        identity = next(s for s in catalog.json()["catalog"] if s["type"] == "identity")
        assert {e["url"] for e in identity["endpoints"]} == {f"{second.url()}/v3"}
    finally:
        assert second.stop() == 0


def test_sigint_stops_too(tmp_path: Path) -> None:
    running = start(["up", "--data-dir", str(tmp_path), "--driver", "fake"], offset=free_offset())
    running.process.send_signal(2)
    assert running.process.wait(15) == 0


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in server_database("postgresql"):
        yield url


def test_two_api_processes_serve_one_cloud(postgres_url: str, tmp_path: Path) -> None:
    """Two `nimbus serve api` on one PostgreSQL and RabbitMQ behave as one cloud."""
    shared = ["--database-url", postgres_url, "--data-dir", str(tmp_path)]
    env = {**os.environ, "NIMBUS_PASSWORD_ROUNDS": "4"}
    for command in (["db", "upgrade"], ["bootstrap", "--admin-password", "pw"]):
        subprocess.run([*NIMBUS, *command, *shared], check=True, env=env, timeout=60)
    transport = ["--transport-url", "rabbit://guest:guest@127.0.0.1:5672/"]
    first = start(["serve", "api", *shared, *transport], offset=free_offset())
    second = start(["serve", "api", *shared, *transport], offset=free_offset())
    try:
        token = _token(first.url(), "pw")
        headers = {"X-Auth-Token": token}
        created = httpx.post(
            f"{first.url()}/v3/projects", headers=headers, json={"project": {"name": "shared"}}
        )
        assert created.status_code == 201
        seen = httpx.get(
            f"{second.url()}/v3/projects/{created.json()['project']['id']}", headers=headers
        )
        assert seen.status_code == 200
        other = _token(second.url(), "pw")
        revoked = httpx.delete(
            f"{first.url()}/v3/auth/tokens", headers={**headers, "X-Subject-Token": other}
        )
        assert revoked.status_code == 204
        started = time.monotonic()
        refused = httpx.get(f"{second.url()}/v3/users", headers={"X-Auth-Token": other})
        assert refused.status_code == 401
        assert time.monotonic() - started < 1
    finally:
        assert first.stop() == 0
        assert second.stop() == 0


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [*NIMBUS, "serve", "api", "--data-dir", str(tmp_path), "--port-offset", str(free_offset())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "nimbus db upgrade" in result.stdout + result.stderr
