"""Helpers shared by the compute API tests (on top of conftest's Cloud)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from nimbus.db.base import utcnow
from nimbus.db.models.cell import ComputeNode, Instance, Service
from tests.api.conftest import Cloud

PASSWORD = "secret-pw"
NOVA_HEADER = "OpenStack-API-Version"


async def compute_client(
    cloud: Cloud,
    version: str | None = None,
    *,
    user: str = "admin",
    project: str = "admin",
) -> httpx.AsyncClient:
    """A compute client with `user`'s token on `project` (the admin's, or PASSWORD) that
    asks for microversion `version` (none: the minimum, 2.1)."""
    client = cloud.client("compute")
    if user == "admin" and project == "admin":
        client.headers["X-Auth-Token"] = await cloud.admin_token()
    else:
        client.headers["X-Auth-Token"] = await cloud.token(user, PASSWORD, project=project)
    if version:
        client.headers[NOVA_HEADER] = f"compute {version}"
    return client


async def admin_client(cloud: Cloud, version: str | None = None) -> httpx.AsyncClient:
    return await compute_client(cloud, version)


async def member_client(
    cloud: Cloud, user: str, version: str | None = None, *, project: str = "admin"
) -> httpx.AsyncClient:
    """A client for `user`, a new user holding only `member` on `project` (which must
    exist; see new_project)."""
    await cloud.make_user(user, project=project, role="member", password=PASSWORD)
    return await compute_client(cloud, version, user=user, project=project)


async def new_project(cloud: Cloud, name: str) -> str:
    """Create project `name`; its id."""
    async with await cloud.admin() as identity:
        response = await identity.post("/v3/projects", json={"project": {"name": name}})
        assert response.status_code == 201, response.text
    return response.json()["project"]["id"]


def fault(response: httpx.Response, code: int, name: str | None = None) -> str:
    """The message of a Nova error answer, once its status and body shape are checked
    (`name` the fault's key, e.g. "itemNotFound")."""
    assert response.status_code == code, response.text
    body = response.json()
    ((key, inner),) = body.items()
    if name:
        assert key == name, body
    assert inner["code"] == code and inner["message"], body
    return inner["message"]


def ok(response: httpx.Response, code: int = 200) -> Any:
    """The JSON body of a successful answer."""
    assert response.status_code == code, response.text
    return response.json()


async def add_service(
    cloud: Cloud,
    host: str,
    binary: str = "nova-compute",
    *,
    seen_ago: float = 0.0,
    disabled: bool = False,
    node: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A service row (and for compute, a node row) as the daemons would write them;
    its uuid, id and (if any) node uuid and id."""
    async with cloud.process.db.transaction() as session:
        now = utcnow()
        service = Service(
            host=host,
            binary=binary,
            topic="compute" if binary == "nova-compute" else binary.removeprefix("nova-"),
            disabled=disabled,
            last_seen_up=now - timedelta(seconds=seen_ago),
            updated_at=now - timedelta(seconds=seen_ago),
        )
        session.add(service)
        await session.flush()
        made: dict[str, Any] = {"uuid": service.uuid, "id": service.id}
        if binary == "nova-compute":
            values = {
                "hypervisor_hostname": f"{host}.nodes.test",
                "hypervisor_type": "fake",
                "vcpus": 8,
                "memory_mb": 16384,
                "local_gb": 100,
                "host_ip": "192.0.2.10",
                **(node or {}),
            }
            row = ComputeNode(host=host, service_id=service.id, **values)
            session.add(row)
            await session.flush()
            made.update(node_uuid=row.uuid, node_id=row.id)
    return made


async def add_instance(cloud: Cloud, project_id: str, **fields: Any) -> str:
    """An instance row (live unless `deleted` is given); its uuid."""
    async with cloud.process.db.transaction() as session:
        row = Instance(
            project_id=project_id,
            user_id=fields.pop("user_id", "someone"),
            display_name=fields.pop("display_name", "server"),
            **fields,
        )
        session.add(row)
        await session.flush()
        return row.uuid


async def project_id_of(cloud: Cloud, name: str) -> str:
    async with await cloud.admin() as identity:
        response = await identity.get("/v3/projects", params={"name": name})
    return response.json()["projects"][0]["id"]
