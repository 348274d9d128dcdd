"""Helpers shared by the identity API tests (on top of conftest's Cloud)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Cloud

PASSWORD = "secret-pw"


def created(response: httpx.Response, key: str) -> dict[str, Any]:
    """The resource of a 201 answer."""
    assert response.status_code == 201, response.text
    return response.json()[key]


def error(response: httpx.Response, code: int) -> str:
    """The message of an error answer, once its status and Keystone body shape are checked."""
    assert response.status_code == code, response.text
    body = response.json()["error"]
    assert body["code"] == code and body["title"] and body["message"]
    return body["message"]


async def client_for(cloud: Cloud, user: str, project: str | None = "admin") -> httpx.AsyncClient:
    """An identity client acting with `user`'s token (password PASSWORD)."""
    client = cloud.client()
    client.headers["X-Auth-Token"] = await cloud.token(user, PASSWORD, project=project)
    return client


async def member(cloud: Cloud, name: str) -> httpx.AsyncClient:
    """A new user holding only `member` on the admin project, acting with its token."""
    await cloud.make_user(name, password=PASSWORD)
    return await client_for(cloud, name)


async def find_id(client: httpx.AsyncClient, collection: str, name: str) -> str:
    """The id of the one `collection` entry called `name`."""
    response = await client.get(f"/v3/{collection}", params={"name": name})
    (item,) = response.json()[collection]
    return item["id"]


async def token_valid(cloud: Cloud, token: str) -> bool:
    """Whether `token` still validates (checked with the admin's token)."""
    async with await cloud.admin() as client:
        response = await client.head("/v3/auth/tokens", headers={"X-Subject-Token": token})
    return response.status_code == 200


async def whoami(client: httpx.AsyncClient) -> str:
    """The id of the user whose token `client` sends."""
    token = client.headers["X-Auth-Token"]
    response = await client.get("/v3/auth/tokens", headers={"X-Subject-Token": token})
    return response.json()["token"]["user"]["id"]


async def admin_creates(cloud: Cloud, collection: str, **fields: Any) -> dict[str, Any]:
    """POST /v3/<collection> as the admin; the new resource (e.g. "groups" → group)."""
    key = collection.removesuffix("s")
    async with await cloud.admin() as client:
        return created(await client.post(f"/v3/{collection}", json={key: fields}), key)
