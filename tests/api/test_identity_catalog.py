"""/v3/regions, /v3/services and /v3/endpoints."""

from __future__ import annotations

import pytest

from tests.api.conftest import Cloud
from tests.api.identity_helpers import created, error, member

BASE = "http://nimbus.test/v3"


async def test_region_lifecycle(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        generated = created(await client.post("/v3/regions", json={"region": {}}), "region")
        named = created(
            await client.post("/v3/regions", json={"region": {"id": "north", "note": "cold"}}),
            "region",
        )
        put = created(
            await client.put(
                "/v3/regions/north-1",
                json={"region": {"description": "Tundra", "parent_region_id": "north"}},
            ),
            "region",
        )
        children = await client.get("/v3/regions", params={"parent_region_id": "north"})
        shown = await client.get("/v3/regions/north-1")
        updated = await client.patch("/v3/regions/north-1", json={"region": {"description": None}})
        deleted = await client.delete("/v3/regions/north")
        child_gone = await client.get("/v3/regions/north-1")
    assert len(generated["id"]) == 32 and generated["parent_region_id"] is None
    assert named == {
        "id": "north",
        "description": "",
        "parent_region_id": None,
        "note": "cold",
        "links": {"self": f"{BASE}/regions/north"},
    }
    assert put["parent_region_id"] == "north" and put["description"] == "Tundra"
    assert [r["id"] for r in children.json()["regions"]] == ["north-1"]
    assert shown.json()["region"] == put
    assert updated.json()["region"]["description"] == ""
    assert deleted.status_code == 204
    assert error(child_gone, 404) == "Could not find region: north-1."


async def test_region_conflicts_and_hierarchy_errors(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        created(await client.put("/v3/regions/west", json={"region": {}}), "region")
        created(
            await client.put("/v3/regions/west-1", json={"region": {"parent_region_id": "west"}}),
            "region",
        )
        duplicate = await client.put("/v3/regions/west", json={"region": {}})
        posted_duplicate = await client.post("/v3/regions", json={"region": {"id": "west"}})
        mismatch = await client.put("/v3/regions/a", json={"region": {"id": "b"}})
        orphan = await client.post("/v3/regions", json={"region": {"parent_region_id": "nope"}})
        loop = await client.patch(
            "/v3/regions/west", json={"region": {"parent_region_id": "west-1"}}
        )
        self_parent = await client.patch(
            "/v3/regions/west", json={"region": {"parent_region_id": "west"}}
        )
        change_id = await client.patch("/v3/regions/west", json={"region": {"id": "east"}})
        empty = await client.patch("/v3/regions/west", json={"region": {}})
        missing = await client.delete("/v3/regions/nope")
    assert error(duplicate, 409) == (
        "Conflict occurred attempting to store region - Duplicate ID, west."
    )
    error(posted_duplicate, 409)
    assert error(mismatch, 400) == 'Conflicting region IDs specified: "a" != "b"'
    assert error(orphan, 404) == "Could not find region: nope."
    assert error(loop, 400) == (
        "The specified parent region west-1 would create a circular region hierarchy."
    )
    error(self_parent, 400)
    assert error(change_id, 400) == "Cannot change ID"
    error(empty, 400)
    assert error(missing, 404) == "Could not find region: nope."


async def test_service_lifecycle(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        service = created(
            await client.post(
                "/v3/services",
                json={"service": {"type": "dns", "name": "designate", "description": "DNS"}},
            ),
            "service",
        )
        unnamed = created(
            await client.post("/v3/services", json={"service": {"type": "x"}}), "service"
        )
        url = f"/v3/services/{service['id']}"
        by_type = await client.get("/v3/services", params={"type": "dns"})
        by_name = await client.get("/v3/services", params={"name": "designate"})
        shown = await client.get(url)
        disabled = await client.patch(url, json={"service": {"enabled": False}})
        deleted = await client.delete(url)
        gone = await client.get(url)
    assert service == {
        "id": service["id"],
        "type": "dns",
        "name": "designate",
        "description": "DNS",
        "enabled": True,
        "links": {"self": f"{BASE}/services/{service['id']}"},
    }
    assert unnamed["name"] == ""
    assert [s["id"] for s in by_type.json()["services"]] == [service["id"]]
    assert [s["id"] for s in by_name.json()["services"]] == [service["id"]]
    assert shown.json()["service"] == service
    assert disabled.json()["service"]["enabled"] is False
    assert deleted.status_code == 204
    assert error(gone, 404) == f"Could not find service: {service['id']}."


@pytest.mark.parametrize(
    "body",
    [
        {"service": {}},
        {"service": {"type": ""}},
        {"service": {"type": "x", "enabled": "true"}},
        {"service": {"type": 3}},
    ],
)
async def test_bad_service_bodies_are_400(cloud: Cloud, body: object) -> None:
    async with await cloud.admin() as client:
        response = await client.post("/v3/services", json=body)
    error(response, 400)


async def test_endpoint_lifecycle(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        service = created(
            await client.post("/v3/services", json={"service": {"type": "queue", "name": "zaqar"}}),
            "service",
        )
        created(await client.put("/v3/regions/south", json={"region": {}}), "region")
        endpoint = created(
            await client.post(
                "/v3/endpoints",
                json={
                    "endpoint": {
                        "service_id": service["id"],
                        "interface": "public",
                        "url": "http://queue.test:8888",
                        "region_id": "south",
                    }
                },
            ),
            "endpoint",
        )
        url = f"/v3/endpoints/{endpoint['id']}"
        filtered = await client.get(
            "/v3/endpoints",
            params={"service_id": service["id"], "interface": "public", "region_id": "south"},
        )
        internal = await client.get(
            "/v3/endpoints", params={"service_id": service["id"], "interface": "internal"}
        )
        shown = await client.get(url)
        moved = await client.patch(
            url, json={"endpoint": {"url": "http://q.test", "enabled": False}}
        )
        region_in_use = await client.delete("/v3/regions/south")
        catalog = await client.get("/v3/auth/catalog")
        deleted = await client.delete(url)
        gone = await client.get(url)
    assert endpoint == {
        "id": endpoint["id"],
        "service_id": service["id"],
        "interface": "public",
        "url": "http://queue.test:8888",
        "region_id": "south",
        "region": "south",
        "enabled": True,
        "links": {"self": f"{BASE}/endpoints/{endpoint['id']}"},
    }
    assert [e["id"] for e in filtered.json()["endpoints"]] == [endpoint["id"]]
    assert internal.json()["endpoints"] == []
    assert shown.json()["endpoint"] == endpoint
    assert moved.json()["endpoint"]["url"] == "http://q.test"
    assert error(region_in_use, 403).startswith("Unable to delete region south")
    queue = [s for s in catalog.json()["catalog"] if s["type"] == "queue"]
    assert queue == [{"id": service["id"], "type": "queue", "name": "zaqar", "endpoints": []}]
    assert deleted.status_code == 204
    assert error(gone, 404) == f"Could not find endpoint: {endpoint['id']}."


async def test_endpoint_references_must_exist(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        service = created(
            await client.post("/v3/services", json={"service": {"type": "y"}}), "service"
        )

        async def post(**fields: object) -> object:
            body = {"service_id": service["id"], "interface": "admin", "url": "http://y", **fields}
            return await client.post("/v3/endpoints", json={"endpoint": body})

        no_service = await post(service_id="nope")
        no_region = await post(region_id="nope")
        legacy = await post(region="made-on-the-fly")
        bad_interface = await post(interface="private")
        no_url = await post(url="")
        region = await client.get("/v3/regions/made-on-the-fly")
        service_deleted = await client.delete(f"/v3/services/{service['id']}")
        orphans = await client.get("/v3/endpoints", params={"service_id": service["id"]})
    assert error(no_service, 400).startswith(
        "Expecting to find endpoint service_id in service table."
    )
    assert error(no_region, 400).startswith("Expecting to find endpoint region_id in region table.")
    assert created(legacy, "endpoint")["region_id"] == "made-on-the-fly"
    assert region.status_code == 200
    error(bad_interface, 400)
    error(no_url, 400)
    assert service_deleted.status_code == 204 and orphans.json()["endpoints"] == []


async def test_project_member_reads_regions_only(cloud: Cloud) -> None:
    async with await member(cloud, "catalog-member") as client:
        regions = await client.get("/v3/regions")
        services = await client.get("/v3/services")
        endpoints = await client.get("/v3/endpoints")
        create_region = await client.post("/v3/regions", json={"region": {}})
        create_service = await client.post("/v3/services", json={"service": {"type": "z"}})
    assert regions.status_code == 200
    assert error(services, 403).endswith("identity:list_services.")
    assert error(endpoints, 403).endswith("identity:list_endpoints.")
    assert error(create_region, 403).endswith("identity:create_region.")
    assert error(create_service, 403).endswith("identity:create_service.")
