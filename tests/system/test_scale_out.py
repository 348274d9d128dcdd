"""The scale-out mode: every role its own process, on PostgreSQL and RabbitMQ.

One API process, one conductor + scheduler process and two compute agents (the fake
driver, two host names) share a PostgreSQL database and a RabbitMQ broker, as the
daemons of a multi-host cloud would. Servers booted through the API must reach both
agents over the broker, and actions must reach the agent of the server's host.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nimbus.virt.fake import qcow2_bytes
from tests.db.conftest import server_database
from tests.processes import NIMBUS, Running, free_offset, start

pytestmark = pytest.mark.system

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"
COMPUTE_VERSION = {"OpenStack-API-Version": "compute 2.100"}


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in server_database("postgresql"):
        yield url


@pytest.fixture
def cloud(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Running, str]]:
    """api | conductor+scheduler | compute A | compute B, each a process of its own.

    The database is fresh for each run and the host names unique, so what the broker's
    shared topic queues carry can only be answered by this run's processes.
    """
    shared = ["--database-url", postgres_url, "--data-dir", str(tmp_path)]
    env = {**os.environ, "NIMBUS_PASSWORD_ROUNDS": "4", "NIMBUS_TRANSPORT_URL": RABBIT}
    for command in (["db", "upgrade"], ["bootstrap", "--admin-password", "pw"]):
        subprocess.run([*NIMBUS, *command, *shared], check=True, env=env, timeout=60)
    suffix = uuid.uuid4().hex[:6]
    roles = [
        ["api"],
        ["conductor", "scheduler"],
        ["compute", "--driver", "fake", "--host", f"scale-a-{suffix}"],
        ["compute", "--driver", "fake", "--host", f"scale-b-{suffix}"],
    ]
    running: list[Running] = []
    try:
        for role in roles:
            running.append(start(["serve", *role, *shared], offset=free_offset(), env=env))
        yield running[0], suffix
    finally:
        for process in reversed(running):
            process.stop()


def _token(base: str) -> str:
    response = httpx.post(
        f"{base}/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "admin", "domain": {"id": "default"}, "password": "pw"}
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
            }
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def _wait(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _image(api: Running, headers: dict[str, str]) -> str:
    images = api.url("image")
    created = httpx.post(
        f"{images}/v2/images",
        headers=headers,
        json={"name": "scale", "disk_format": "qcow2", "container_format": "bare"},
    )
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = httpx.put(
        f"{images}/v2/images/{image_id}/file",
        headers={**headers, "Content-Type": "application/octet-stream"},
        content=qcow2_bytes(1 << 30),
    )
    assert uploaded.status_code == 204, uploaded.text
    return image_id


def _server(compute: str, headers: dict[str, str], uuid_: str) -> dict[str, Any]:
    response = httpx.get(f"{compute}/v2.1/servers/{uuid_}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["server"]


def _status_is(compute: str, headers: dict[str, str], uuid_: str, status: str) -> Any:
    server = _server(compute, headers, uuid_)
    assert server["status"] != "ERROR", server.get("fault")
    return server if server["status"] == status else None


def test_roles_in_separate_processes_share_one_cloud(cloud: tuple[Running, str]) -> None:
    api, suffix = cloud
    headers = {"X-Auth-Token": _token(api.url()), **COMPUTE_VERSION}
    compute = api.url("compute")
    hosts = {f"scale-a-{suffix}", f"scale-b-{suffix}"}

    def both_agents_up() -> bool:
        services = httpx.get(f"{compute}/v2.1/os-services", headers=headers).json()["services"]
        up = {s["host"] for s in services if s["binary"] == "nova-compute" and s["state"] == "up"}
        return hosts <= up

    _wait(both_agents_up, "both compute agents to register and beat")

    image = _image(api, headers)
    group = httpx.post(
        f"{compute}/v2.1/os-server-groups",
        headers=headers,
        json={"server_group": {"name": "apart", "policy": "anti-affinity"}},
    )
    assert group.status_code == 200, group.text
    booted = []
    for index in range(2):
        response = httpx.post(
            f"{compute}/v2.1/servers",
            headers=headers,
            json={
                "server": {
                    "name": f"scale-{index}",
                    "imageRef": image,
                    "flavorRef": "1",
                    "networks": "none",
                },
                "os:scheduler_hints": {"group": group.json()["server_group"]["id"]},
            },
        )
        assert response.status_code == 202, response.text
        booted.append(response.json()["server"]["id"])

    active = [
        _wait(lambda u=u: _status_is(compute, headers, u, "ACTIVE"), f"{u} ACTIVE") for u in booted
    ]
    # The anti-affinity group forces one server onto each agent's host.
    assert {server["OS-EXT-SRV-ATTR:host"] for server in active} == hosts

    # An action reaches the agent of the server's host over the broker, and back.
    stopped = httpx.post(
        f"{compute}/v2.1/servers/{booted[1]}/action", headers=headers, json={"os-stop": None}
    )
    assert stopped.status_code == 202, stopped.text
    _wait(lambda: _status_is(compute, headers, booted[1], "SHUTOFF"), "SHUTOFF")
    events = httpx.get(
        f"{compute}/v2.1/servers/{booted[1]}/os-instance-actions", headers=headers
    ).json()["instanceActions"]
    assert {"create", "stop"} <= {event["action"] for event in events}

    for server in booted:
        assert httpx.delete(f"{compute}/v2.1/servers/{server}", headers=headers).status_code == 204

    def all_gone() -> bool:
        return all(
            httpx.get(f"{compute}/v2.1/servers/{u}", headers=headers).status_code == 404
            for u in booted
        )

    _wait(all_gone, "the deletes")
    usages = httpx.get(
        f"{api.url('placement')}/resource_providers",
        headers={"X-Auth-Token": headers["X-Auth-Token"]},
    ).json()["resource_providers"]
    for provider in usages:
        if provider["name"] in hosts:
            used = httpx.get(
                f"{api.url('placement')}/resource_providers/{provider['uuid']}/usages",
                headers={"X-Auth-Token": headers["X-Auth-Token"]},
            ).json()["usages"]
            assert not any(used.values()), (provider["name"], used)
