"""Helpers shared by the image API tests (on top of conftest's Cloud)."""

from __future__ import annotations

import struct
from typing import Any

import httpx

from tests.api.conftest import Cloud

PASSWORD = "secret-pw"
PATCH = {"content-type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"content-type": "application/octet-stream"}


async def image_client(
    cloud: Cloud, user: str = "admin", project: str = "admin"
) -> httpx.AsyncClient:
    """An image client with `user`'s token on `project` (the admin's, or PASSWORD)."""
    client = cloud.client("image")
    if user == "admin":
        client.headers["X-Auth-Token"] = await cloud.admin_token()
    else:
        client.headers["X-Auth-Token"] = await cloud.token(user, PASSWORD, project=project)
    return client


async def project_member(cloud: Cloud, project: str, user: str, role: str = "member") -> str:
    """Create `project` and `user` holding `role` on it; returns the project id."""
    async with await cloud.admin() as identity:
        response = await identity.post("/v3/projects", json={"project": {"name": project}})
        assert response.status_code == 201, response.text
    await cloud.make_user(user, project=project, role=role, password=PASSWORD)
    return response.json()["project"]["id"]


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A new image (201 checked)."""
    response = await client.post("/v2/images", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(
    client: httpx.AsyncClient, image_id: str, data: bytes, **headers: str
) -> httpx.Response:
    return await client.put(
        f"/v2/images/{image_id}/file", content=data, headers={**OCTETS, **headers}
    )


async def patch(
    client: httpx.AsyncClient, image_id: str, *operations: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"/v2/images/{image_id}", json=list(operations), headers=PATCH)


async def show(client: httpx.AsyncClient, image_id: str) -> dict[str, Any]:
    response = await client.get(f"/v2/images/{image_id}")
    assert response.status_code == 200, response.text
    return response.json()


def fault(response: httpx.Response, code: int) -> str:
    """The message of a Glance error answer, once its status and body shape are checked."""
    assert response.status_code == code, response.text
    body = response.json()
    assert body["code"].startswith(f"{code} ") and body["title"], body
    return body["message"]


def qcow2(virtual_size: int = 1 << 30, *, version: int = 3, backing: int = 0) -> bytes:
    """A small, valid-looking qcow2 image: header, then zero padding to 64 KiB."""
    header = struct.pack(
        ">4sIQIIQIIQQIIQ",
        b"QFI\xfb",
        version,
        backing,  # backing file offset
        0,  # backing file name length
        16,  # cluster bits
        virtual_size,
        0,  # encryption
        1,  # L1 entries
        0x30000,  # L1 table offset
        0x10000,  # refcount table offset
        1,  # refcount table clusters
        0,  # snapshots
        0,  # snapshots offset
    )
    if version == 3:
        header += struct.pack(">QQQII", 0, 0, 0, 4, 104)
    return header.ljust(1 << 16, b"\0")
