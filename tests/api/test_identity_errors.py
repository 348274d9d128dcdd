"""Bad input gets a clear 4xx in Keystone's error shape, never a 500."""

from __future__ import annotations

import pytest

from tests.api.conftest import Cloud


async def test_every_response_has_a_request_id(cloud: Cloud) -> None:
    async with cloud.client() as client:
        for response in (
            await client.get("/"),
            await client.get("/v3/users"),
            await client.get("/no/such/path"),
        ):
            assert response.headers["x-openstack-request-id"].startswith("req-")


async def test_malformed_json_is_400(cloud: Cloud) -> None:
    async with cloud.client() as client:
        response = await client.post(
            "/v3/auth/tokens", content=b'{"auth": ', headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and error["title"] == "Bad Request"
    assert "Malformed" in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"auth": "x"},
        {"auth": {}},
        {"auth": {"identity": {"methods": []}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": 7}}}},
        {"auth": {"identity": {"methods": ["password"]}, "surprise": 1}},
        {"auth": {"identity": {"methods": ["kerberos"]}}},
    ],
)
async def test_wrong_shapes_are_400(cloud: Cloud, body: object) -> None:
    async with cloud.client() as client:
        response = await client.post("/v3/auth/tokens", json=body)
    assert response.status_code == 400, response.text
    assert "Invalid input" in response.json()["error"]["message"]


async def test_oversized_body_is_refused(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        response = await client.post(
            "/v3/projects", json={"project": {"name": "big", "description": "x" * 200_000}}
        )
        listed = await client.get("/v3/projects", params={"name": "big"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == 413
    assert listed.json()["projects"] == []


async def test_wrong_types_in_resources_are_400_and_write_nothing(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        bad_enabled = await client.post(
            "/v3/projects", json={"project": {"name": "typed", "enabled": "yes"}}
        )
        no_name = await client.post("/v3/users", json={"user": {"password": "x"}})
        long_name = await client.post("/v3/projects", json={"project": {"name": "n" * 65}})
        listed = await client.get("/v3/projects", params={"name": "typed"})
    assert bad_enabled.status_code == 400
    assert "enabled" in bad_enabled.json()["error"]["message"]
    assert no_name.status_code == 400
    assert long_name.status_code == 400
    assert listed.json()["projects"] == []


async def test_unknown_path_and_method(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        missing = await client.get("/v3/nothing-here")
        wrong_method = await client.put("/v3/users")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == 404
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
