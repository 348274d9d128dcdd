"""Helpers of the server tests: an active image, a boot, waiting for a status."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import httpx

from tests.api.conftest import Cloud

#: Microversion the server tests speak unless they test an older one.
LATEST = "2.100"


def qcow2(virtual_size: int = 1 << 30) -> bytes:
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        *(b"QFI\xfb", 3, 0, 0, 16, virtual_size, 0, 1, 0x30000, 0x10000, 1, 0, 0),
        *(0, 0, 0, 4, 104),
    )
    return header.ljust(1 << 16, b"\0")


async def active_image(cloud: Cloud, name: str, **fields: Any) -> str:
    """A public qcow2 image with data (active); its id."""
    async with cloud.client("image") as images:
        images.headers["X-Auth-Token"] = await cloud.admin_token()
        created = await images.post(
            "/v2/images",
            json={
                "name": name,
                "disk_format": "qcow2",
                "container_format": "bare",
                "visibility": "public",
                **fields,
            },
        )
        assert created.status_code == 201, created.text
        image_id = created.json()["id"]
        uploaded = await images.put(
            f"/v2/images/{image_id}/file",
            content=qcow2(),
            headers={"content-type": "application/octet-stream"},
        )
        assert uploaded.status_code == 204, uploaded.text
    return image_id


async def boot(
    client: httpx.AsyncClient, image: str, name: str, flavor: str = "1", **fields: Any
) -> httpx.Response:
    body = {"server": {"name": name, "imageRef": image, "flavorRef": flavor, **fields}}
    if "networks" not in fields:
        body["server"]["networks"] = "none"
    return await client.post("/v2.1/servers", json=body)


async def boot_ok(
    client: httpx.AsyncClient, image: str, name: str, flavor: str = "1", **fields: Any
) -> dict[str, Any]:
    response = await boot(client, image, name, flavor, **fields)
    assert response.status_code == 202, response.text
    return response.json()["server"]


async def wait_status(
    client: httpx.AsyncClient, uuid: str, *statuses: str, timeout: float = 10
) -> dict[str, Any]:
    """The server once its status is one of `statuses` and no task is running."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(f"/v2.1/servers/{uuid}")
        assert response.status_code == 200, response.text
        server = response.json()["server"]
        if server["status"] in statuses and server.get("OS-EXT-STS:task_state") is None:
            return server
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"server {uuid} stuck in {server['status']}: {server}")
        await asyncio.sleep(0.02)


async def wait_gone(client: httpx.AsyncClient, uuid: str, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await client.get(f"/v2.1/servers/{uuid}")).status_code != 404:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"server {uuid} was not deleted")
        await asyncio.sleep(0.02)


async def action(
    client: httpx.AsyncClient, uuid: str, name: str, body: Any = None
) -> httpx.Response:
    return await client.post(f"/v2.1/servers/{uuid}/action", json={name: body})
