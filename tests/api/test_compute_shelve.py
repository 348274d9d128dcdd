"""Shelve, shelveOffload and unshelve: the snapshot image, the claims given back and
taken again, the allowed states, and unshelve's zone (2.77) and host (2.91)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.api.compute_helpers import admin_client, fault, member_client, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, action, active_image, boot_ok, wait_status


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    return await active_image(compute_cloud, "shelve-image")


async def _active(client: httpx.AsyncClient, image: str, name: str) -> str:
    uuid = (await boot_ok(client, image, name))["id"]
    await wait_status(client, uuid, "ACTIVE")
    return uuid


async def _allocations(cloud: Cloud, consumer: str) -> dict:
    async with cloud.client("placement") as client:
        client.headers["X-Auth-Token"] = await cloud.admin_token()
        return ok(await client.get(f"/allocations/{consumer}"))["allocations"]


async def _image_status(cloud: Cloud, image_id: str) -> int:
    async with cloud.client("image") as images:
        images.headers["X-Auth-Token"] = await cloud.admin_token()
        return (await images.get(f"/v2/images/{image_id}")).status_code


async def _image_named(cloud: Cloud, name: str) -> dict:
    async with cloud.client("image") as images:
        images.headers["X-Auth-Token"] = await cloud.admin_token()
        (found,) = ok(await images.get("/v2/images", params={"name": name}))["images"]
        return found


@contextmanager
def offload_time(cloud: Cloud, seconds: float) -> Iterator[None]:
    """The agents' shelved_offload_time, for the duration of a test."""
    options = cloud.process.settings.compute
    before = options.shelved_offload_time
    options.shelved_offload_time = seconds
    try:
        yield
    finally:
        options.shelved_offload_time = before


async def test_shelve_offloads_and_unshelve_boots_from_the_snapshot(
    compute_cloud: Cloud, image: str
) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "shelf")
        assert await _allocations(compute_cloud, uuid)
        assert (await action(client, uuid, "shelve")).status_code == 202
        server = await wait_status(client, uuid, "SHELVED_OFFLOADED")
        assert server["OS-EXT-SRV-ATTR:host"] is None
        assert server["OS-EXT-STS:power_state"] == 0
        assert await _allocations(compute_cloud, uuid) == {}  # claims freed
        snapshot = await _image_named(compute_cloud, "shelf-shelved")
        assert snapshot["status"] == "active" and snapshot["instance_uuid"] == uuid

        again = await action(client, uuid, "shelve")
        assert "while it is in vm_state shelved_offloaded" in fault(again, 409)
        offload = await action(client, uuid, "shelveOffload")
        assert "while it is in vm_state shelved_offloaded" in fault(offload, 409)
        stop = await action(client, uuid, "os-stop")
        assert fault(stop, 409)

        assert (await action(client, uuid, "unshelve")).status_code == 202
        server = await wait_status(client, uuid, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"]
        assert server["OS-EXT-STS:power_state"] == 1
        held = await _allocations(compute_cloud, uuid)
        assert [r["resources"]["MEMORY_MB"] for r in held.values()] == [512]  # m1.tiny
        assert await _image_status(compute_cloud, snapshot["id"]) == 404  # deleted
        events = ok(await client.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
        assert [a["action"] for a in events["instanceActions"]][:2] == ["unshelve", "shelve"]
        refused = await action(client, uuid, "unshelve")
        assert "while it is in vm_state active" in fault(refused, 409)
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_paused_server_shelves(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "paused-shelf")
        assert (await action(client, uuid, "pause")).status_code == 202
        await wait_status(client, uuid, "PAUSED")
        assert (await action(client, uuid, "shelve")).status_code == 202
        await wait_status(client, uuid, "SHELVED_OFFLOADED")
        snapshot = (await _image_named(compute_cloud, "paused-shelf-shelved"))["id"]
        deleted = await client.delete(f"/v2.1/servers/{uuid}")
        assert deleted.status_code == 204  # no host: deleted at once
        assert (await client.get(f"/v2.1/servers/{uuid}")).status_code == 404
        assert await _image_status(compute_cloud, snapshot) == 404  # Nova deletes it too


async def test_shelved_keeps_its_host_until_offloaded(compute_cloud: Cloud, image: str) -> None:
    with offload_time(compute_cloud, -1):
        async with await admin_client(compute_cloud, LATEST) as client:
            uuid = await _active(client, image, "kept")
            assert (await action(client, uuid, "shelve")).status_code == 202
            server = await wait_status(client, uuid, "SHELVED")
            assert server["OS-EXT-SRV-ATTR:host"] and server["OS-EXT-STS:power_state"] == 4
            assert await _allocations(compute_cloud, uuid)  # still claimed
            zoned = await action(client, uuid, "unshelve", {"availability_zone": "nova"})
            assert "only allowed for a shelved offloaded" in fault(zoned, 409)
            # unshelve where it is: powered on again, same host
            assert (await action(client, uuid, "unshelve")).status_code == 202
            back = await wait_status(client, uuid, "ACTIVE")
            assert back["OS-EXT-SRV-ATTR:host"] == server["OS-EXT-SRV-ATTR:host"]

            assert (await action(client, uuid, "shelve")).status_code == 202
            await wait_status(client, uuid, "SHELVED")
            async with await member_client(compute_cloud, "shelve-member", LATEST) as member:
                refused = await action(member, uuid, "shelveOffload")
                assert "os-shelve:shelve_offload" in fault(refused, 403)
            assert (await action(client, uuid, "shelveOffload")).status_code == 202
            await wait_status(client, uuid, "SHELVED_OFFLOADED")
            assert await _allocations(compute_cloud, uuid) == {}
            await action(client, uuid, "unshelve")
            await wait_status(client, uuid, "ACTIVE")
            assert (await action(client, uuid, "shelve")).status_code == 202
            await wait_status(client, uuid, "SHELVED")
            snapshot = (await _image_named(compute_cloud, "kept-shelved"))["id"]
            await client.delete(f"/v2.1/servers/{uuid}")
            assert await _image_status(compute_cloud, snapshot) == 404


async def test_unshelve_to_a_zone_and_a_host(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "moved-shelf")
        first_host = (await wait_status(client, uuid, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
        assert (await action(client, uuid, "shelve")).status_code == 202
        await wait_status(client, uuid, "SHELVED_OFFLOADED")

    async with await admin_client(compute_cloud, "2.76") as old:
        body = await action(old, uuid, "unshelve", {"availability_zone": "nova"})
        assert "Invalid input for field/attribute unshelve" in fault(body, 400)
    async with await admin_client(compute_cloud, "2.77") as v277:
        nowhere = await action(v277, uuid, "unshelve", {"availability_zone": "nowhere"})
        assert "availability zone is not available" in fault(nowhere, 400)
        unpin = await action(v277, uuid, "unshelve", {"availability_zone": None})
        assert fault(unpin, 400)  # null only from 2.91
        host = await action(v277, uuid, "unshelve", {"host": first_host})
        assert "'host' was unexpected" in fault(host, 400)

    async with await admin_client(compute_cloud, "2.91") as client:
        services = ok(await client.get("/v2.1/os-services", params={"binary": "nova-compute"}))
        other = next(s["host"] for s in services["services"] if s["host"] != first_host)
        body = {"host": other, "availability_zone": None}
        assert (await action(client, uuid, "unshelve", body)).status_code == 202
        server = await wait_status(client, uuid, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == other
        assert server["OS-EXT-AZ:availability_zone"] == "nova"
        await client.delete(f"/v2.1/servers/{uuid}")
