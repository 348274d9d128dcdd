"""Placement over HTTP: version negotiation, error bodies, policy, the catalog."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Cloud

LATEST = {"OpenStack-API-Version": "placement latest"}


async def _placement(cloud: Cloud, token: str | None = None) -> httpx.AsyncClient:
    client = cloud.client("placement")
    client.headers["X-Auth-Token"] = token or await cloud.admin_token()
    return client


async def test_the_root_is_the_version_document_without_a_token(cloud: Cloud) -> None:
    async with cloud.client("placement") as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.json() == {
        "versions": [
            {
                "id": "v1.0",
                "min_version": "1.0",
                "max_version": "1.39",
                "status": "CURRENT",
                "links": [{"rel": "self", "href": ""}],
            }
        ]
    }
    assert response.headers["openstack-api-version"] == "placement 1.0"
    assert "openstack-api-version" in response.headers["vary"]
    assert response.headers["x-openstack-request-id"].startswith("req-")


@pytest.mark.parametrize(
    ("asked", "served"),
    [("placement latest", "1.39"), ("placement 1.14", "1.14"), ("compute 2.1", "1.0")],
)
async def test_negotiated_versions_are_echoed(cloud: Cloud, asked: str, served: str) -> None:
    async with await _placement(cloud) as client:
        response = await client.get("/resource_providers", headers={"OpenStack-API-Version": asked})
    assert response.status_code == 200
    assert response.headers["openstack-api-version"] == f"placement {served}"


@pytest.mark.parametrize("asked", ["placement 1.40", "placement 0.5", "placement 2.0"])
async def test_unserved_versions_are_406_naming_the_range(cloud: Cloud, asked: str) -> None:
    async with await _placement(cloud) as client:
        response = await client.get("/resource_providers", headers={"OpenStack-API-Version": asked})
    assert response.status_code == 406
    (error,) = response.json()["errors"]
    assert error["title"] == "Not Acceptable"
    assert "Unacceptable version header" in error["detail"]
    assert (error["min_version"], error["max_version"]) == ("1.0", "1.39")
    assert "code" not in error
    assert error["request_id"] == response.headers["x-openstack-request-id"]
    assert "openstack-api-version" not in response.headers


@pytest.mark.parametrize("asked", ["placement pony.horse", "placement 1.2.3"])
async def test_malformed_versions_are_400(cloud: Cloud, asked: str) -> None:
    async with await _placement(cloud) as client:
        response = await client.get("/", headers={"OpenStack-API-Version": asked})
    assert response.status_code == 400
    assert "invalid version string" in response.json()["errors"][0]["detail"]


async def test_authentication_comes_before_negotiation(cloud: Cloud) -> None:
    """As upstream, where the auth middleware wraps the microversion one."""
    async with cloud.client("placement") as client:
        response = await client.get(
            "/resource_providers", headers={"OpenStack-API-Version": "placement 9.9"}
        )
    assert response.status_code == 401
    assert response.json()["errors"][0]["title"] == "Unauthorized"


async def test_unknown_paths_are_404_in_placement_shape(cloud: Cloud) -> None:
    async with await _placement(cloud) as client:
        response = await client.get("/nowhere", headers=LATEST)
    assert response.status_code == 404
    (error,) = response.json()["errors"]
    assert error["code"] == "placement.undefined_code"
    assert response.headers["openstack-api-version"] == "placement 1.39"


async def test_a_member_is_refused_by_policy(cloud: Cloud) -> None:
    await cloud.make_user("placement-member", role="member")
    token = await cloud.token("placement-member", password="secret-pw")
    async with await _placement(cloud, token) as client:
        response = await client.get("/resource_providers", headers=LATEST)
    assert response.status_code == 403
    assert response.json()["errors"][0]["detail"] == (
        "Policy does not allow placement:resource_providers:list to be performed."
    )


async def test_a_reader_sees_only_its_own_projects_usages(cloud: Cloud) -> None:
    await cloud.make_user("placement-reader", role="reader")
    token = await cloud.token("placement-reader", password="secret-pw")
    async with await cloud.admin() as identity:
        project_id = (await identity.get("/v3/projects", params={"name": "admin"})).json()[
            "projects"
        ][0]["id"]
    async with await _placement(cloud, token) as client:
        own = await client.get(f"/usages?project_id={project_id}", headers=LATEST)
        other = await client.get("/usages?project_id=someone-else", headers=LATEST)
    assert own.status_code == 200
    assert own.json() == {"usages": {}}
    assert other.status_code == 403


async def test_the_catalog_lists_placement(cloud: Cloud) -> None:
    async with await cloud.admin() as identity:
        response = await identity.get("/v3/auth/catalog")
    (service,) = [s for s in response.json()["catalog"] if s["type"] == "placement"]
    assert service["name"] == "placement"
    assert {e["url"] for e in service["endpoints"]} == {"http://127.0.0.1:8778"}
