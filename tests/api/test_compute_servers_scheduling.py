"""Scheduling under pressure: concurrent boots never oversubscribe a host, no valid
host ends in ERROR with its claims freed, a failed build moves to an alternate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nimbus.compute import quotas
from nimbus.services.compute import ComputeAgent
from tests.api.compute_helpers import admin_client, ok
from tests.api.conftest import COMPUTE_HOSTS, Cloud
from tests.api.server_helpers import LATEST, active_image, boot_ok, wait_gone, wait_status

#: What one fake host of compute_cloud can hold of m1.tiny (512 MiB each).
TINY_PER_HOST = 8


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    async with compute_cloud.process.db.transaction() as session:
        project = await _admin_project(compute_cloud)
        await quotas.set_limits(
            session, project, {"instances": -1, "cores": -1, "ram": -1}, force=True
        )
    return await active_image(compute_cloud, "sched-image")


async def _admin_project(cloud: Cloud) -> str:
    async with await cloud.admin() as identity:
        found = await identity.get("/v3/projects", params={"name": "admin"})
    return found.json()["projects"][0]["id"]


async def _placement(cloud: Cloud, path: str) -> Any:
    async with cloud.client("placement") as client:
        client.headers["X-Auth-Token"] = await cloud.admin_token()
        client.headers["OpenStack-API-Version"] = "placement 1.39"
        return ok(await client.get(path))


def _agents(cloud: Cloud) -> list[ComputeAgent]:
    return [d for d in cloud.process.daemons if isinstance(d, ComputeAgent)]


async def _delete_all(cloud: Cloud, client: Any, uuids: list[str]) -> None:
    for uuid in uuids:
        await client.delete(f"/v2.1/servers/{uuid}")
    for uuid in uuids:
        await wait_gone(client, uuid)
    # The conductor frees a deleted server's claims just after the row is gone.
    for uuid in uuids:
        for _ in range(200):
            if not (await _placement(cloud, f"/allocations/{uuid}"))["allocations"]:
                break
            await asyncio.sleep(0.01)


async def test_concurrent_boots_never_oversubscribe(compute_cloud: Cloud, image: str) -> None:
    wanted = TINY_PER_HOST * COMPUTE_HOSTS + 4
    async with await admin_client(compute_cloud, LATEST) as client:
        created = await asyncio.gather(
            *(boot_ok(client, image, f"crowd-{i}") for i in range(wanted))
        )
        uuids = [c["id"] for c in created]
        final = [await wait_status(client, u, "ACTIVE", "ERROR", timeout=30) for u in uuids]
        statuses = [s["status"] for s in final]
        assert statuses.count("ACTIVE") == TINY_PER_HOST * COMPUTE_HOSTS
        assert statuses.count("ERROR") == 4
        for server in final:
            if server["status"] == "ERROR":
                assert server["fault"]["message"].startswith("No valid host was found.")
                held = await _placement(compute_cloud, f"/allocations/{server['id']}")
                assert held["allocations"] == {}
        providers = (await _placement(compute_cloud, "/resource_providers"))["resource_providers"]
        for provider in providers:
            usage = (
                await _placement(compute_cloud, f"/resource_providers/{provider['uuid']}/usages")
            )["usages"]
            inventory = (
                await _placement(
                    compute_cloud, f"/resource_providers/{provider['uuid']}/inventories"
                )
            )["inventories"]
            for resource, used in usage.items():
                record = inventory[resource]
                capacity = (record["total"] - record["reserved"]) * record["allocation_ratio"]
                assert used <= capacity, (provider["name"], resource, used, capacity)
        await _delete_all(compute_cloud, client, uuids)


async def test_failed_build_is_rescheduled_to_an_alternate(
    compute_cloud: Cloud, image: str
) -> None:
    agents = _agents(compute_cloud)
    broken = agents[:-1]
    for agent in broken:
        agent.driver.fail_on.add("spawn")
    try:
        async with await admin_client(compute_cloud, LATEST) as client:
            uuid = (await boot_ok(client, image, "rescheduled"))["id"]
            server = await wait_status(client, uuid, "ACTIVE", "ERROR")
            assert server["status"] == "ACTIVE", server.get("fault")
            assert server["OS-EXT-SRV-ATTR:host"] == agents[-1].host
            action = ok(await client.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
            request_id = action["instanceActions"][0]["request_id"]
            shown = ok(await client.get(f"/v2.1/servers/{uuid}/os-instance-actions/{request_id}"))
            results = [e["result"] for e in shown["instanceAction"]["events"]]
            assert "Error" in results and results[-1] == "Success"
            held = await _placement(compute_cloud, f"/allocations/{uuid}")
            assert list(held["allocations"]) == [agents[-1].node_uuid]
            await _delete_all(compute_cloud, client, [uuid])
    finally:
        for agent in broken:
            agent.driver.fail_on.discard("spawn")


async def test_build_failing_everywhere_ends_in_error(compute_cloud: Cloud, image: str) -> None:
    agents = _agents(compute_cloud)
    for agent in agents:
        agent.driver.fail_on.add("spawn")
    try:
        async with await admin_client(compute_cloud, LATEST) as client:
            uuid = (await boot_ok(client, image, "doomed"))["id"]
            server = await wait_status(client, uuid, "ERROR")
            assert server["fault"]["message"].startswith("No valid host was found.")
            assert "Exceeded maximum number of retries" in server["fault"]["message"]
            held = await _placement(compute_cloud, f"/allocations/{uuid}")
            assert held["allocations"] == {}
            await _delete_all(compute_cloud, client, [uuid])
    finally:
        for agent in agents:
            agent.driver.fail_on.discard("spawn")


async def test_no_host_big_enough(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "too-big", flavor="4"))["id"]
        server = await wait_status(client, uuid, "ERROR")
        assert server["fault"] == {
            "code": 500,
            "created": server["fault"]["created"],
            "message": "No valid host was found. There are not enough hosts available.",
            "details": server["fault"]["details"],
        }
        assert (await _placement(compute_cloud, f"/allocations/{uuid}"))["allocations"] == {}
        await _delete_all(compute_cloud, client, [uuid])


async def test_anti_affinity_group_spreads_members(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, "2.64") as client:
        group = ok(
            await client.post(
                "/v2.1/os-server-groups",
                json={"server_group": {"name": "spread", "policy": "anti-affinity"}},
            )
        )["server_group"]
    async with await admin_client(compute_cloud, LATEST) as client:
        hints = {"group": group["id"]}
        uuids = []
        for i in range(COMPUTE_HOSTS + 1):
            response = await client.post(
                "/v2.1/servers",
                json={
                    "server": {
                        "name": f"member-{i}",
                        "imageRef": image,
                        "flavorRef": "1",
                        "networks": "none",
                    },
                    "os:scheduler_hints": hints,
                },
            )
            assert response.status_code == 202, response.text
            uuids.append(response.json()["server"]["id"])
            await wait_status(client, uuids[-1], "ACTIVE", "ERROR")
        servers = [ok(await client.get(f"/v2.1/servers/{u}"))["server"] for u in uuids]
        hosts = [s["OS-EXT-SRV-ATTR:host"] for s in servers if s["status"] == "ACTIVE"]
        assert len(hosts) == COMPUTE_HOSTS == len(set(hosts))
        assert servers[-1]["status"] == "ERROR"
        assert servers[0]["server_groups"] == [group["id"]]
        await _delete_all(compute_cloud, client, uuids)


async def test_concurrent_boots_into_an_anti_affinity_group_take_distinct_hosts(
    compute_cloud: Cloud, image: str
) -> None:
    """One boot per host, all in flight at once: each is placed after the choices of
    the ones before it, so no two share a host (none ends in ERROR either)."""
    async with await admin_client(compute_cloud, "2.64") as client:
        group = ok(
            await client.post(
                "/v2.1/os-server-groups",
                json={"server_group": {"name": "apart-at-once", "policy": "anti-affinity"}},
            )
        )["server_group"]
    async with await admin_client(compute_cloud, LATEST) as client:
        body = {"name": "apart", "imageRef": image, "flavorRef": "1", "networks": "none"}
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v2.1/servers",
                    json={"server": body, "os:scheduler_hints": {"group": group["id"]}},
                )
                for _ in range(COMPUTE_HOSTS)
            )
        )
        uuids = [ok(response, 202)["server"]["id"] for response in responses]
        servers = [await wait_status(client, uuid, "ACTIVE") for uuid in uuids]
        hosts = [server["OS-EXT-SRV-ATTR:host"] for server in servers]
        assert len(set(hosts)) == COMPUTE_HOSTS, hosts
        await _delete_all(compute_cloud, client, uuids)
