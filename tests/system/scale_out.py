"""A scale-out cloud for system tests: every role its own `nimbus serve` process on a
fresh PostgreSQL database (the `postgres_url` fixture) and the local RabbitMQ broker,
and the few HTTP calls the tests make to it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.processes import NIMBUS, Running, free_offset, start

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"
COMPUTE_VERSION = {"OpenStack-API-Version": "compute 2.100"}


@contextmanager
def serve(postgres_url: str, data_dir: Path, computes: list[list[str]]) -> Iterator[Running]:
    """api | conductor+scheduler | one compute process per entry of `computes` (its
    `serve compute` options), all on `data_dir` (so one image store); yields the API.

    The database is fresh for each run and the callers' host names unique, so what the
    broker's shared topic queues carry can only be answered by this run's processes.
    """
    shared = ["--database-url", postgres_url, "--data-dir", str(data_dir)]
    env = {**os.environ, "NIMBUS_PASSWORD_ROUNDS": "4", "NIMBUS_TRANSPORT_URL": RABBIT}
    for command in (["db", "upgrade"], ["bootstrap", "--admin-password", "pw"]):
        subprocess.run([*NIMBUS, *command, *shared], check=True, env=env, timeout=60)
    roles = [["api"], ["conductor", "scheduler"], *(["compute", *c] for c in computes)]
    running: list[Running] = []
    try:
        for role in roles:
            running.append(start(["serve", *role, *shared], offset=free_offset(), env=env))
        yield running[0]
    finally:
        for process in reversed(running):
            process.stop()


def admin_headers(api: Running) -> dict[str, str]:
    """A project-scoped admin token (the password `serve` bootstraps) and the latest
    compute microversion."""
    response = httpx.post(
        f"{api.url()}/v3/auth/tokens",
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
    return {"X-Auth-Token": response.headers["x-subject-token"], **COMPUTE_VERSION}


def wait(check: Any, what: str, timeout: float = 30) -> Any:
    """Poll `check` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def agents_up(api: Running, headers: dict[str, str], hosts: set[str]) -> None:
    """Wait until the compute agents of `hosts` have registered and beat."""

    def up() -> bool:
        listed = httpx.get(f"{api.url('compute')}/v2.1/os-services", headers=headers)
        services = listed.json()["services"]
        return hosts <= {
            s["host"] for s in services if s["binary"] == "nova-compute" and s["state"] == "up"
        }

    wait(up, f"compute agents {sorted(hosts)} to register and beat")


def upload_image(api: Running, headers: dict[str, str], name: str, data: bytes) -> str:
    """A qcow2 image with `data`; its id."""
    images = api.url("image")
    created = httpx.post(
        f"{images}/v2/images",
        headers=headers,
        json={"name": name, "disk_format": "qcow2", "container_format": "bare"},
    )
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = httpx.put(
        f"{images}/v2/images/{image_id}/file",
        headers={**headers, "Content-Type": "application/octet-stream"},
        content=data,
        timeout=60,
    )
    assert uploaded.status_code == 204, uploaded.text
    return image_id


def server(api: Running, headers: dict[str, str], uuid: str) -> dict[str, Any]:
    response = httpx.get(f"{api.url('compute')}/v2.1/servers/{uuid}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["server"]


def status_is(api: Running, headers: dict[str, str], uuid: str, status: str) -> Any:
    """The server once its status is `status` and no task runs; None before; an ERROR
    fails with the server's fault."""
    shown = server(api, headers, uuid)
    assert shown["status"] != "ERROR", shown.get("fault")
    done = shown["status"] == status and not shown.get("OS-EXT-STS:task_state")
    return shown if done else None
