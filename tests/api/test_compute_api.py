"""The compute API's frame: version discovery, microversion negotiation, error bodies,
the catalog entry and the legacy project-id URL form."""

from __future__ import annotations

from tests.api.compute_helpers import admin_client, fault, ok, project_id_of
from tests.api.conftest import Cloud


async def test_root_lists_both_major_versions_without_a_token(cloud: Cloud) -> None:
    async with cloud.client("compute") as client:
        body = ok(await client.get("/"))
    v20, v21 = body["versions"]
    assert v20["id"] == "v2.0" and v20["status"] == "SUPPORTED" and v20["version"] == ""
    assert v21["id"] == "v2.1" and v21["status"] == "CURRENT"
    assert (v21["min_version"], v21["version"]) == ("2.1", "2.104")
    assert v21["links"] == [{"rel": "self", "href": "http://nimbus.test/v2.1/"}]


async def test_version_document(cloud: Cloud) -> None:
    async with cloud.client("compute") as client:
        for path in ("/v2.1", "/v2.1/"):
            version = ok(await client.get(path))["version"]
            assert version["id"] == "v2.1" and version["version"] == "2.104"
            assert version["media-types"][0]["base"] == "application/json"


async def test_microversion_headers_standard_and_legacy(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        response = await client.get("/v2.1", headers={"OpenStack-API-Version": "compute 2.53"})
        assert response.headers["openstack-api-version"] == "compute 2.53"
        assert response.headers["x-openstack-nova-api-version"] == "2.53"
        assert "openstack-api-version" in response.headers["vary"].lower()
        response = await client.get("/v2.1", headers={"X-OpenStack-Nova-API-Version": "2.11"})
        assert response.headers["openstack-api-version"] == "compute 2.11"
        response = await client.get("/v2.1", headers={"OpenStack-API-Version": "compute latest"})
        assert response.headers["x-openstack-nova-api-version"] == "2.104"
        response = await client.get("/v2.1")
        assert response.headers["openstack-api-version"] == "compute 2.1"


async def test_unserved_or_malformed_microversions(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        response = await client.get("/v2.1", headers={"OpenStack-API-Version": "compute 3.0"})
        message = fault(response, 406, "computeFault")
        assert (
            message
            == "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.104."
        )
        response = await client.get("/v2.1", headers={"OpenStack-API-Version": "compute x"})
        assert "is of invalid format" in fault(response, 400, "badRequest")


async def test_errors_have_novas_shape(cloud: Cloud) -> None:
    async with cloud.client("compute") as client:
        response = await client.get("/v2.1/os-nothing")
        assert response.status_code == 404
        response = await client.delete("/v2.1")
        assert response.status_code == 405
    async with await admin_client(cloud) as client:
        fault(await client.get("/v2.1/no-such-thing"), 404, "itemNotFound")
        fault(await client.delete("/v2.1"), 405, "badMethod")
        assert (await client.get("/v2.1")).headers["x-openstack-request-id"]


async def test_catalog_lists_nova_at_v21(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        response = await client.get("/v3/auth/catalog")
    (service,) = [s for s in response.json()["catalog"] if s["type"] == "compute"]
    assert service["name"] == "nova"
    assert all(e["url"].endswith(":8774/v2.1") for e in service["endpoints"])


async def test_legacy_project_id_prefix(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        project_id = await project_id_of(cloud, "admin")
        flavors = ok(await client.get(f"/v2.1/{project_id}/flavors"))["flavors"]
        assert any(f["id"] == "1" for f in flavors)
        fault(await client.get("/v2.1/not-a-project/flavors"), 404)
