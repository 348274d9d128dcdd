"""The compute hot paths (boot, conductor, listing) on every backend.

Their units of work run on SQLite's own thread or, on PostgreSQL and MariaDB, on the
asyncio drivers through ``run_sync``; a cloud with its daemons on each backend boots,
lists and deletes servers through the API. On the servers concurrent boots run on
pooled connections of their own, so their quota checks would race but for the lock
on the project's row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from nimbus.compute.options import ComputeOptions
from tests.api.compute_helpers import admin_client, fault, member_client, new_project, ok
from tests.api.conftest import Cloud, running_compute
from tests.api.server_helpers import LATEST, active_image, wait_status


@pytest.fixture
async def backend_cloud(database_url: str, tmp_path: Path) -> AsyncIterator[Cloud]:
    """A cloud with a conductor, a scheduler and two fake hosts on `database_url`."""
    options = ComputeOptions(
        fake_hosts=2, fake_vcpus=4, fake_memory_mb=4096 + 512, fake_local_gb=40
    )
    async with running_compute(tmp_path, options, database_url=database_url) as cloud:
        yield cloud


async def test_boots_list_and_delete_within_the_quota(backend_cloud: Cloud) -> None:
    project = await new_project(backend_cloud, "racing")
    async with await admin_client(backend_cloud) as admin:
        body = {"quota_set": {"instances": 3}}
        ok(await admin.put(f"/v2.1/os-quota-sets/{project}", json=body))
    image = await active_image(backend_cloud, "backend-image")
    async with await member_client(backend_cloud, "racer", LATEST, project="racing") as client:
        hints = {"different_host": [str(uuid4())]}

        def body(name: str) -> dict:
            server = {"name": name, "imageRef": image, "flavorRef": "1", "networks": "none"}
            return {"server": {**server, "availability_zone": "nova"}, "os:scheduler_hints": hints}

        responses = await asyncio.gather(
            *(client.post("/v2.1/servers", json=body(f"vm-{n}")) for n in range(6))
        )
        accepted = [r.json()["server"]["id"] for r in responses if r.status_code == 202]
        for refused in (r for r in responses if r.status_code != 202):
            assert fault(refused, 403, "forbidden").startswith("Quota exceeded for instances")
        assert len(accepted) == 3  # the checks took turns: none refused needlessly
        for uuid in accepted:
            server = await wait_status(client, uuid, "ACTIVE")
            assert server["OS-EXT-STS:power_state"] == 1
        listed = ok(await client.get("/v2.1/servers/detail"))["servers"]
        assert sorted(s["id"] for s in listed) == sorted(accepted)
        assert {s["status"] for s in listed} == {"ACTIVE"}
        assert {s["pinned_availability_zone"] for s in listed} == {"nova"}
        assert [s["scheduler_hints"] for s in listed] == [hints] * 3
        events = ok(await client.get(f"/v2.1/servers/{accepted[0]}/os-instance-actions"))
        assert [a["action"] for a in events["instanceActions"]] == ["create"]
        for uuid in accepted:
            assert (await client.delete(f"/v2.1/servers/{uuid}")).status_code == 204
        for _ in range(200):
            if not ok(await client.get("/v2.1/servers"))["servers"]:
                break
            await asyncio.sleep(0.05)
        assert ok(await client.get("/v2.1/servers"))["servers"] == []
