"""Helpers shared by the network API tests (on top of conftest's Cloud)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.compute_helpers import PASSWORD, new_project, ok
from tests.api.conftest import Cloud

__all__ = ["PASSWORD", "new_project", "ok"]


async def admin_client(cloud: Cloud) -> httpx.AsyncClient:
    client = cloud.client("network")
    client.headers["X-Auth-Token"] = await cloud.admin_token()
    return client


async def member_client(cloud: Cloud, user: str, project: str) -> httpx.AsyncClient:
    """A client for `user`, a new user holding only `member` on `project` (created
    if needed)."""
    async with await cloud.admin() as identity:
        found = (await identity.get("/v3/projects", params={"name": project})).json()
    if not found["projects"]:
        await new_project(cloud, project)
    await cloud.make_user(user, project=project, role="member", password=PASSWORD)
    client = cloud.client("network")
    client.headers["X-Auth-Token"] = await cloud.token(user, PASSWORD, project=project)
    return client


def neutron_error(response: httpx.Response, code: int, kind: str) -> str:
    """The message of a Neutron error answer, once status, body shape and type checked."""
    assert response.status_code == code, response.text
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    error = body["NeutronError"]
    assert error["type"] == kind and error["message"] and error["detail"] == "", body
    return error["message"]


async def create(client: httpx.AsyncClient, resource: str, **attributes: Any) -> dict[str, Any]:
    """POST /v2.0/<resource>s {resource: attributes}; the created document."""
    collection = "security-groups" if resource == "security_group" else f"{resource}s"
    if resource == "security_group_rule":
        collection = "security-group-rules"
    response = await client.post(f"/v2.0/{collection}", json={resource: attributes})
    return ok(response, 201)[resource]


async def network_with_subnet(
    client: httpx.AsyncClient, name: str, cidr: str, **subnet: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    network = await create(client, "network", name=name)
    made = await create(
        client,
        "subnet",
        network_id=network["id"],
        ip_version=6 if ":" in cidr else 4,
        cidr=cidr,
        name=f"{name}-subnet",
        **subnet,
    )
    return network, made


async def count(client: httpx.AsyncClient, collection: str) -> int:
    return len(ok(await client.get(f"/v2.0/{collection}"))[collection.replace("-", "_")])
