"""Aggregates and availability zones: CRUD, hosts, metadata, the one-zone rule, and
the zones Nova derives from services."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.compute_helpers import (
    add_instance,
    add_service,
    admin_client,
    fault,
    member_client,
    ok,
)
from tests.api.conftest import Cloud


async def create(client: httpx.AsyncClient, name: str, zone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if zone is not None:
        body["availability_zone"] = zone
    return ok(await client.post("/v2.1/os-aggregates", json={"aggregate": body}))["aggregate"]


async def action(
    client: httpx.AsyncClient, aggregate: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/v2.1/os-aggregates/{aggregate['id']}/action", json=body)


async def test_crud_and_shapes(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        created = await create(client, "agg-crud", "zone-crud")
        assert set(created) == {
            "availability_zone",
            "created_at",
            "deleted",
            "deleted_at",
            "id",
            "name",
            "updated_at",
        }
        assert created["availability_zone"] == "zone-crud" and created["deleted"] is False
        path = f"/v2.1/os-aggregates/{created['id']}"
        shown = ok(await client.get(path))["aggregate"]
        assert shown["hosts"] == [] and shown["metadata"] == {"availability_zone": "zone-crud"}
        assert "uuid" not in shown
        assert (
            fault(
                await client.post("/v2.1/os-aggregates", json={"aggregate": {"name": "agg-crud"}}),
                409,
            )
            == "Aggregate agg-crud already exists."
        )
        renamed = ok(await client.put(path, json={"aggregate": {"name": "agg-renamed"}}))[
            "aggregate"
        ]
        assert renamed["name"] == "agg-renamed" and renamed["updated_at"]
        moved = ok(await client.put(path, json={"aggregate": {"availability_zone": "zone-two"}}))[
            "aggregate"
        ]
        assert moved["availability_zone"] == "zone-two"
        fault(await client.put(path, json={"aggregate": {}}), 400)
        fault(await client.put(path, json={"aggregate": {"availability_zone": None}}), 400)
        assert [a["name"] for a in ok(await client.get("/v2.1/os-aggregates"))["aggregates"]].count(
            "agg-renamed"
        ) == 1
        assert (await client.delete(path)).status_code == 200
        assert (
            fault(await client.get(path), 404, "itemNotFound")
            == f"Aggregate {created['id']} could not be found."
        )
        fault(await client.get("/v2.1/os-aggregates/abc"), 400)
    async with await admin_client(cloud, "2.41") as client:
        assert "uuid" in (await create(client, "agg-with-uuid"))


async def test_bad_bodies(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        for body in (
            {"aggregate": {"name": ""}},
            {"aggregate": {"name": " padded"}},
            {"aggregate": {"name": "a", "availability_zone": "has:colon"}},
            {"aggregate": {"name": "a", "colour": "x"}},
            {"aggregate": {}},
        ):
            fault(await client.post("/v2.1/os-aggregates", json=body), 400, "badRequest")
        agg = await create(client, "agg-bad-actions")
        fault(await action(client, agg, {"add_host": {"host": "bad host!"}}), 400)
        fault(await action(client, agg, {"set_metadata": {"metadata": {"bad/key": "x"}}}), 400)
        fault(await action(client, agg, {"set_metadata": {}}), 400)
        assert (
            fault(await action(client, agg, {"dance": {}}), 400) == "There is no such action: dance"
        )


async def test_hosts_metadata_and_zones(cloud: Cloud) -> None:
    await add_service(cloud, "agg-host-1")
    await add_service(cloud, "agg-host-2")
    async with await admin_client(cloud) as client:
        az1 = await create(client, "agg-az1", "az1")
        az2 = await create(client, "agg-az2", "az2")
        plain = await create(client, "agg-plain")
        shown = ok(await action(client, az1, {"add_host": {"host": "agg-host-1"}}))["aggregate"]
        assert shown["hosts"] == ["agg-host-1"]
        assert (
            fault(await action(client, az1, {"add_host": {"host": "agg-host-1"}}), 409)
            == f"Aggregate {az1['id']} already has host agg-host-1."
        )
        assert (
            fault(await action(client, az1, {"add_host": {"host": "nowhere"}}), 404)
            == "Compute host nowhere could not be found."
        )
        message = fault(await action(client, az2, {"add_host": {"host": "agg-host-1"}}), 409)
        assert "One or more hosts already in availability zone(s) ['az1']" in message
        ok(await action(client, plain, {"add_host": {"host": "agg-host-1"}}))
        message = fault(
            await action(
                client, plain, {"set_metadata": {"metadata": {"availability_zone": "az2"}}}
            ),
            400,
        )
        assert message == (
            f"Cannot update metadata of aggregate {plain['id']}. "
            "Reason: One or more hosts already in availability zone(s) ['az1']."
        )
        meta = ok(
            await action(
                client, plain, {"set_metadata": {"metadata": {"ssd": "true", "gpu": "no"}}}
            )
        )["aggregate"]
        assert meta["metadata"] == {"ssd": "true", "gpu": "no"}
        meta = ok(await action(client, plain, {"set_metadata": {"metadata": {"gpu": None}}}))[
            "aggregate"
        ]
        assert meta["metadata"] == {"ssd": "true"}

        zones = ok(await client.get("/v2.1/os-availability-zone"))["availabilityZoneInfo"]
        names = {z["zoneName"]: z for z in zones}
        assert names["az1"] == {"zoneName": "az1", "zoneState": {"available": True}, "hosts": None}
        assert "nova" in names  # agg-host-2 is in no zone
        assert "az2" not in names  # a zone without hosts is no zone

        message = fault(await client.delete(f"/v2.1/os-aggregates/{az1['id']}"), 400)
        assert message == (
            f"Cannot remove host from aggregate {az1['id']}. Reason: Host aggregate is not empty."
        )
        assert (
            fault(await action(client, az1, {"remove_host": {"host": "agg-host-2"}}), 404)
            == f"Cannot remove host agg-host-2 in aggregate {az1['id']}"
        )
        ok(await action(client, az1, {"remove_host": {"host": "agg-host-1"}}))
        ok(await action(client, az2, {"add_host": {"host": "agg-host-1"}}))


async def test_servers_never_change_zone(cloud: Cloud) -> None:
    await add_service(cloud, "agg-busy")
    await add_instance(cloud, "some-project", host="agg-busy")
    async with await admin_client(cloud) as client:
        zoned = await create(client, "agg-busy-zone", "busy-zone")
        message = fault(await action(client, zoned, {"add_host": {"host": "agg-busy"}}), 409)
        assert "availability zone of the host would change from 'None' to 'busy-zone'" in message
        plain = await create(client, "agg-busy-plain")
        ok(await action(client, plain, {"add_host": {"host": "agg-busy"}}))
        message = fault(
            await action(
                client, plain, {"set_metadata": {"metadata": {"availability_zone": "elsewhere"}}}
            ),
            400,
        )
        assert "One or more hosts contain instances in this zone" in message


async def test_zone_detail_and_policy(cloud: Cloud) -> None:
    await add_service(cloud, "az-detail-host")
    await add_service(cloud, "az-detail-host", "nova-scheduler")
    await add_service(cloud, "az-off-host", disabled=True)
    async with await admin_client(cloud) as client:
        agg = await create(client, "agg-off", "off-zone")
        ok(await action(client, agg, {"add_host": {"host": "az-off-host"}}))
        detail = {
            z["zoneName"]: z
            for z in ok(await client.get("/v2.1/os-availability-zone/detail"))[
                "availabilityZoneInfo"
            ]
        }
        host = detail["nova"]["hosts"]["az-detail-host"]["nova-compute"]
        assert host["available"] is True and host["active"] is True and host["updated_at"]
        assert "nova-scheduler" in detail["internal"]["hosts"]["az-detail-host"]
        assert detail["off-zone"] == {
            "zoneName": "off-zone",
            "zoneState": {"available": False},
            "hosts": None,
        }
        brief = {
            z["zoneName"]
            for z in ok(await client.get("/v2.1/os-availability-zone"))["availabilityZoneInfo"]
        }
        assert "internal" not in brief and "off-zone" in brief
    async with await member_client(cloud, "zone-member") as member:
        ok(await member.get("/v2.1/os-availability-zone"))
        fault(await member.get("/v2.1/os-availability-zone/detail"), 403, "forbidden")
        fault(await member.get("/v2.1/os-aggregates"), 403)
        fault(await member.post("/v2.1/os-aggregates", json={"aggregate": {"name": "m"}}), 403)


async def test_cache_images_from_281(cloud: Cloud) -> None:
    image = str(uuid.uuid4())
    async with await admin_client(cloud, "2.81") as client:
        agg = await create(client, "agg-cache")
        path = f"/v2.1/os-aggregates/{agg['id']}/images"
        assert (await client.post(path, json={"cache": [{"id": image}]})).status_code == 202
        assert (
            fault(await client.post(path, json={"cache": [{"id": image}, {"id": image}]}), 400)
            == "Duplicate images in request"
        )
        fault(await client.post(path, json={"cache": []}), 400)
        fault(
            await client.post("/v2.1/os-aggregates/99999/images", json={"cache": [{"id": image}]}),
            404,
        )
    async with await admin_client(cloud, "2.80") as client:
        fault(await client.post(path, json={"cache": [{"id": image}]}), 404)
