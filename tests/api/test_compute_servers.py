"""Servers end to end in one process: the API casts, the conductor and scheduler place,
fake compute hosts build; bodies, listing, actions and the state machine."""

from __future__ import annotations

import pytest

from tests.api.compute_helpers import admin_client, fault, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import (
    LATEST,
    action,
    active_image,
    boot_ok,
    wait_gone,
    wait_status,
)


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    return await active_image(compute_cloud, "cirros")


async def test_boot_reaches_active_with_nova_body(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        created = await boot_ok(client, image, "vm-body", metadata={"role": "web"})
        assert created["adminPass"] and created["OS-DCF:diskConfig"] == "MANUAL"
        server = await wait_status(client, created["id"], "ACTIVE")
    assert server["OS-EXT-STS:vm_state"] == "active"
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["metadata"] == {"role": "web"}
    assert server["flavor"]["original_name"] == "m1.tiny" and server["flavor"]["ram"] == 512
    assert server["image"]["id"] == image
    assert server["OS-EXT-SRV-ATTR:host"].startswith("fake-host-")
    assert server["hostId"] and server["OS-EXT-AZ:availability_zone"] == "nova"
    assert server["OS-SRV-USG:launched_at"] and server["locked"] is False
    assert server["tags"] == [] and server["server_groups"] == []
    assert server["pinned_availability_zone"] is None and server["scheduler_hints"] == {}
    assert server["progress"] == 0 and server["host_status"] == "UP"


async def test_list_and_detail(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        created = await boot_ok(client, image, "vm-list")
        await wait_status(client, created["id"], "ACTIVE")
        listed = ok(await client.get("/v2.1/servers", params={"name": "^vm-list$"}))
        assert [s["id"] for s in listed["servers"]] == [created["id"]]
        assert set(listed["servers"][0]) == {"id", "name", "links"}
        detail = ok(await client.get("/v2.1/servers/detail", params={"status": "ACTIVE"}))
        assert created["id"] in [s["id"] for s in detail["servers"]]
        paged = ok(await client.get("/v2.1/servers", params={"limit": 1}))
        assert len(paged["servers"]) == 1 and paged["servers_links"][0]["rel"] == "next"
        marker = paged["servers"][0]["id"]
        rest = ok(await client.get("/v2.1/servers", params={"marker": marker}))
        assert marker not in [s["id"] for s in rest["servers"]]
        bad = await client.get("/v2.1/servers", params={"marker": "nope"})
        assert "marker [nope] not found" in fault(bad, 400)


async def test_power_actions_follow_nova_state_machine(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "vm-power"))["id"]
        await wait_status(client, uuid, "ACTIVE")
        for name, body, status in [
            ("reboot", {"type": "SOFT"}, "ACTIVE"),
            ("reboot", {"type": "HARD"}, "ACTIVE"),
            ("os-stop", None, "SHUTOFF"),
            ("os-start", None, "ACTIVE"),
            ("pause", None, "PAUSED"),
            ("unpause", None, "ACTIVE"),
            ("suspend", None, "SUSPENDED"),
            ("resume", None, "ACTIVE"),
        ]:
            response = await action(client, uuid, name, body)
            assert response.status_code == 202, (name, response.text)
            await wait_status(client, uuid, status)
        await action(client, uuid, "os-stop")
        await wait_status(client, uuid, "SHUTOFF")
        refused = await action(client, uuid, "pause")
        assert fault(refused, 409, "conflictingRequest") == (
            f"Cannot 'pause' instance {uuid} while it is in vm_state stopped"
        )
        refused = await action(client, uuid, "reboot", {"type": "SOFT"})
        assert "while it is in vm_state stopped" in fault(refused, 409)
        events = ok(await client.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
        names = [a["action"] for a in events["instanceActions"]]
        assert names[0] == "stop" and names[-1] == "create"


async def test_delete_frees_the_claim(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "vm-delete"))["id"]
        await wait_status(client, uuid, "ACTIVE")
        response = await client.delete(f"/v2.1/servers/{uuid}")
        assert response.status_code == 204, response.text
        await wait_gone(client, uuid)
    async with compute_cloud.client("placement") as placement:
        placement.headers["X-Auth-Token"] = await compute_cloud.admin_token()
        held = ok(await placement.get(f"/allocations/{uuid}"))
    assert held["allocations"] == {}


async def test_agents_register_beat_and_report_inventory(compute_cloud: Cloud) -> None:
    from sqlalchemy import select

    from nimbus.db.models.cell import Service
    from nimbus.services.compute import ComputeAgent

    agents = [d for d in compute_cloud.process.daemons if isinstance(d, ComputeAgent)]
    async with compute_cloud.process.db.reader() as session:
        rows = (await session.scalars(select(Service))).all()
    binaries = sorted(r.binary for r in rows)
    assert binaries.count("nova-compute") == len(agents) == 3
    assert "nova-conductor" in binaries and "nova-scheduler" in binaries
    assert all(r.last_seen_up is not None for r in rows)
    async with compute_cloud.client("placement") as placement:
        placement.headers["X-Auth-Token"] = await compute_cloud.admin_token()
        for agent in agents:
            inventory = ok(
                await placement.get(f"/resource_providers/{agent.node_uuid}/inventories")
            )
            vcpu, ram = inventory["inventories"]["VCPU"], inventory["inventories"]["MEMORY_MB"]
            assert (vcpu["total"], vcpu["allocation_ratio"]) == (4, 4.0)
            assert (ram["total"], ram["reserved"]) == (4096 + 512, 512)
