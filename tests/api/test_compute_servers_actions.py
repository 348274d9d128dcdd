"""Server actions beyond power: resize (confirm and revert), rebuild, snapshots,
console output, lock, update, metadata and tags, and the events they leave."""

from __future__ import annotations

import pytest

from tests.api.compute_helpers import admin_client, fault, member_client, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, action, active_image, boot_ok, wait_status


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    return await active_image(compute_cloud, "actions-image")


async def _active(client, image: str, name: str) -> str:  # type: ignore[no-untyped-def]
    uuid = (await boot_ok(client, image, name))["id"]
    await wait_status(client, uuid, "ACTIVE")
    return uuid


async def _allocations(cloud: Cloud, consumer: str) -> dict:
    async with cloud.client("placement") as client:
        client.headers["X-Auth-Token"] = await cloud.admin_token()
        return ok(await client.get(f"/allocations/{consumer}"))["allocations"]


async def test_resize_confirm_and_revert(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "grow")
        same = await action(client, uuid, "resize", {"flavorRef": "1"})
        assert fault(same, 400) == "When resizing, instances must change flavor!"
        assert (await action(client, uuid, "resize", {"flavorRef": "2"})).status_code == 202
        server = await wait_status(client, uuid, "VERIFY_RESIZE")
        assert server["flavor"]["original_name"] == "m1.small"
        held = await _allocations(compute_cloud, uuid)
        assert [r["resources"]["MEMORY_MB"] for r in held.values()] == [2048]
        assert (await action(client, uuid, "confirmResize")).status_code == 204  # as Nova
        server = await wait_status(client, uuid, "ACTIVE")
        assert server["flavor"]["original_name"] == "m1.small"
        refused = await action(client, uuid, "confirmResize")
        assert "while it is in vm_state active" in fault(refused, 409)

        assert (await action(client, uuid, "resize", {"flavorRef": "3"})).status_code == 202
        await wait_status(client, uuid, "VERIFY_RESIZE")
        assert (await action(client, uuid, "revertResize")).status_code == 202
        server = await wait_status(client, uuid, "ACTIVE")
        assert server["flavor"]["original_name"] == "m1.small"
        held = await _allocations(compute_cloud, uuid)
        assert [r["resources"]["MEMORY_MB"] for r in held.values()] == [2048]
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_rebuild_keeps_the_server(compute_cloud: Cloud, image: str) -> None:
    other = await active_image(compute_cloud, "rebuild-target")
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "rebuilt")
        response = await action(
            client, uuid, "rebuild", {"imageRef": other, "name": "renewed", "metadata": {"a": "b"}}
        )
        body = ok(response, 202)["server"]
        assert body["id"] == uuid and body["adminPass"] and body["status"] == "REBUILD"
        server = await wait_status(client, uuid, "ACTIVE")
        assert server["image"]["id"] == other and server["name"] == "renewed"
        assert server["metadata"] == {"a": "b"}
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_create_image_then_boot_from_it(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "snapped")
        response = await action(client, uuid, "createImage", {"name": "snap-1"})
        image_id = ok(response, 202)["image_id"]
        await wait_status(client, uuid, "ACTIVE")
    async with compute_cloud.client("image") as images:
        images.headers["X-Auth-Token"] = await compute_cloud.admin_token()
        snap = ok(await images.get(f"/v2/images/{image_id}"))
    assert snap["status"] == "active" and snap["name"] == "snap-1"
    assert snap["instance_uuid"] == uuid and snap["image_type"] == "snapshot"
    async with await admin_client(compute_cloud, "2.44") as client:
        response = await action(client, uuid, "createImage", {"name": "snap-old"})
        assert response.status_code == 202 and "/images/" in response.headers["location"]
        await wait_status(client, uuid, "ACTIVE")
    async with await admin_client(compute_cloud, LATEST) as client:
        child = await _active(client, image_id, "from-snap")
        await client.delete(f"/v2.1/servers/{child}")
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_console_output(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "talker")
        output = ok(await action(client, uuid, "os-getConsoleOutput", {"length": 2}))["output"]
        # Nova's tail: the last `length` pieces between newlines (the log ends in one).
        last, empty = output.split("\n")
        assert last.endswith("talker login:") and empty == ""
        full = ok(await action(client, uuid, "os-getConsoleOutput", {}))["output"]
        assert "Linux version" in full
        await action(client, uuid, "os-stop")
        await wait_status(client, uuid, "SHUTOFF")
        # A stopped guest's log is still on its host, and Nova serves it.
        stopped = ok(await action(client, uuid, "os-getConsoleOutput", {}))["output"]
        assert "Linux version" in stopped
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_lock_blocks_members_not_admins(compute_cloud: Cloud, image: str) -> None:
    async with await member_client(compute_cloud, "locker", LATEST) as member:
        uuid = await _active(member, image, "locked-one")
        response = await action(member, uuid, "lock", {"locked_reason": "maintenance"})
        assert response.status_code == 202
        server = ok(await member.get(f"/v2.1/servers/{uuid}"))["server"]
        assert server["locked"] is True and server["locked_reason"] == "maintenance"
        refused = await action(member, uuid, "os-stop")
        assert fault(refused, 409) == f"Instance {uuid} is locked"
        fault(await member.delete(f"/v2.1/servers/{uuid}"), 409)
        assert (await action(member, uuid, "unlock")).status_code == 202
        assert (await member.delete(f"/v2.1/servers/{uuid}")).status_code == 204


async def test_update_metadata_tags_and_events(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = await _active(client, image, "tagged")
        base = f"/v2.1/servers/{uuid}"
        updated = ok(
            await client.put(base, json={"server": {"name": "retagged", "description": "d"}})
        )
        assert updated["server"]["name"] == "retagged"
        assert updated["server"]["description"] == "d"
        assert ok(await client.post(f"{base}/metadata", json={"metadata": {"k": "v"}})) == {
            "metadata": {"k": "v"}
        }
        assert ok(await client.put(f"{base}/metadata/k2", json={"meta": {"k2": "v2"}})) == {
            "meta": {"k2": "v2"}
        }
        assert ok(await client.get(f"{base}/metadata/k2")) == {"meta": {"k2": "v2"}}
        fault(await client.put(f"{base}/metadata/x", json={"meta": {"y": "1"}}), 400)
        assert (await client.delete(f"{base}/metadata/k")).status_code == 204
        assert ok(await client.get(f"{base}/metadata")) == {"metadata": {"k2": "v2"}}
        assert ok(await client.put(f"{base}/tags", json={"tags": ["b", "a"]})) == {
            "tags": ["a", "b"]
        }
        assert (await client.put(f"{base}/tags/c")).status_code == 201
        assert (await client.put(f"{base}/tags/c")).status_code == 204
        assert (await client.get(f"{base}/tags/c")).status_code == 204
        fault(await client.get(f"{base}/tags/zzz"), 404)
        listed = ok(await client.get("/v2.1/servers", params={"tags": "a,c"}))["servers"]
        assert [s["id"] for s in listed] == [uuid]
        none = ok(await client.get("/v2.1/servers", params={"not-tags-any": "a"}))["servers"]
        assert uuid not in [s["id"] for s in none]
        assert (await client.delete(f"{base}/tags")).status_code == 204
        assert ok(await client.get(f"{base}/tags")) == {"tags": []}
        await action(client, uuid, "reboot", {"type": "HARD"})
        await wait_status(client, uuid, "ACTIVE")
        actions = ok(await client.get(f"{base}/os-instance-actions"))["instanceActions"]
        reboot = actions[0]
        assert reboot["action"] == "reboot" and "updated_at" in reboot
        shown = ok(await client.get(f"{base}/os-instance-actions/{reboot['request_id']}"))
        (event,) = shown["instanceAction"]["events"]
        assert event["event"] == "compute_reboot_instance" and event["result"] == "Success"
        assert event["host"].startswith("fake-host-") and event["hostId"]
        paged = ok(await client.get(f"{base}/os-instance-actions", params={"limit": 1}))
        assert len(paged["instanceActions"]) == 1 and paged["links"][0]["rel"] == "next"
        await client.delete(base)
