"""A cloud on a fresh SQLite database, driven in-process through its ASGI apps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from nimbus.cloud import Process
from nimbus.config import Settings


@dataclass
class Cloud:
    """A bootstrapped cloud and the helpers tests use to act as its users."""

    process: Process
    apps: dict[str, Any]
    admin_password: str
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)

    def client(self, service: str = "identity") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.apps[service])
        return httpx.AsyncClient(transport=transport, base_url="http://nimbus.test")

    async def token(
        self,
        user: str = "admin",
        password: str | None = None,
        project: str | None = "admin",
        domain: str = "Default",
    ) -> str:
        """A token for `user` (by name in `domain`), scoped to `project` when given."""
        auth: dict[str, Any] = {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": user,
                        "domain": {"name": domain},
                        "password": password or self.admin_password,
                    }
                },
            }
        }
        if project:
            auth["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
        async with self.client() as client:
            response = await client.post("/v3/auth/tokens", json={"auth": auth})
        assert response.status_code == 201, response.text
        return response.headers["x-subject-token"]

    async def admin_token(self) -> str:
        key = ("admin", "admin")
        if key not in self._tokens:
            self._tokens[key] = await self.token()
        return self._tokens[key]

    async def admin(self) -> httpx.AsyncClient:
        """An identity client that sends the admin's project-scoped token."""
        client = self.client()
        client.headers["X-Auth-Token"] = await self.admin_token()
        return client

    async def make_user(
        self,
        name: str,
        *,
        project: str = "admin",
        role: str | None = "member",
        password: str = "secret-pw",
    ) -> dict[str, Any]:
        """Create `name` with `role` on `project` (by name); returns the user body."""
        async with await self.admin() as client:
            user = (
                await client.post("/v3/users", json={"user": {"name": name, "password": password}})
            ).json()["user"]
            if role:
                project_id = (await client.get("/v3/projects", params={"name": project})).json()[
                    "projects"
                ][0]["id"]
                role_id = (await client.get("/v3/roles", params={"name": role})).json()["roles"][0][
                    "id"
                ]
                response = await client.put(
                    f"/v3/projects/{project_id}/users/{user['id']}/roles/{role_id}"
                )
                assert response.status_code == 204, response.text
        return user


async def start_cloud(data_dir: Path, **overrides: Any) -> tuple[Cloud, Process]:
    settings = Settings(data_dir=data_dir, admin_password="admin-secret", **overrides)
    process = Process(settings, ())
    await process.prepare(migrate_schema=True)
    await process.bootstrap()
    apps = await process.build_apps()
    return Cloud(process=process, apps=apps, admin_password="admin-secret"), process


@asynccontextmanager
async def running_compute(data_dir: Path, compute: Any, **overrides: Any) -> AsyncIterator[Cloud]:
    """A cloud whose conductor, scheduler and fake compute hosts (`compute`, the
    ComputeOptions) run in this process, on an in-process broker of its own (daemons of
    another module's cloud must never take its casts); stopped on the way out."""
    cloud, process = await start_cloud(
        data_dir, compute=compute, transport_url=f"inprocess://{data_dir.name}", **overrides
    )
    process.roles = ("conductor", "scheduler", "compute")
    await process.start_daemons()
    try:
        yield cloud
    finally:
        await process.stop()


@pytest.fixture(scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cloud]:
    """One cloud per test module: tests in a module share it, so names must be unique."""
    cloud, process = await start_cloud(tmp_path_factory.mktemp("cloud"))
    yield cloud
    await process.bus.close()
    await process.db.close()


#: Fake hosts of `compute_cloud`: 4 vCPUs (16 with the 4.0 ratio), 4 GiB usable RAM
#: (512 MiB more, reserved as Nova reserves it) and 40 GB disk each.
COMPUTE_HOSTS = 3


@pytest.fixture(scope="module")
async def compute_cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cloud]:
    """A cloud that builds servers: its conductor, scheduler and fake compute hosts
    run in this process on the in-process bus (`cloud.process.daemons`)."""
    from nimbus.compute.options import ComputeOptions

    options = ComputeOptions(
        fake_hosts=COMPUTE_HOSTS,
        fake_vcpus=4,
        fake_memory_mb=4096 + 512,
        fake_local_gb=40,
        report_interval=5,
    )
    async with running_compute(tmp_path_factory.mktemp("compute"), options) as cloud:
        yield cloud
