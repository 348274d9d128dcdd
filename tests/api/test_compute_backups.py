"""createBackup: backup images (image_type backup, backup_type) and their rotation,
the answer by microversion, the allowed states and bad bodies."""

from __future__ import annotations

import pytest

from tests.api.compute_helpers import admin_client, fault, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, action, active_image, boot_ok, wait_status


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    return await active_image(compute_cloud, "backup-image")


async def _backups(cloud: Cloud, uuid: str) -> list[dict]:
    async with cloud.client("image") as images:
        images.headers["X-Auth-Token"] = await cloud.admin_token()
        listed = ok(await images.get("/v2/images", params={"sort": "created_at:asc"}))
    return [i for i in listed["images"] if i.get("instance_uuid") == uuid]


async def test_backups_rotate(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "backed-up"))["id"]
        await wait_status(client, uuid, "ACTIVE")
        made = []
        for n in range(3):
            body = {"name": f"daily-{n}", "backup_type": "daily", "rotation": 2}
            made.append(ok(await action(client, uuid, "createBackup", body), 202)["image_id"])
            await wait_status(client, uuid, "ACTIVE")
        weekly = {"name": "weekly-0", "backup_type": "weekly", "rotation": "1"}
        assert (await action(client, uuid, "createBackup", weekly)).status_code == 202
        await wait_status(client, uuid, "ACTIVE")
        kept = await _backups(compute_cloud, uuid)
        # the two newest dailies (the oldest rotated out) and the weekly one
        assert [i["name"] for i in kept] == ["daily-1", "daily-2", "weekly-0"]
        assert [i["id"] for i in kept[:2]] == made[1:]
        assert all(i["image_type"] == "backup" and i["status"] == "active" for i in kept)
        assert {i["backup_type"] for i in kept} == {"daily", "weekly"}
        events = ok(await client.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
        assert [a["action"] for a in events["instanceActions"]].count("createBackup") == 4

        async with await admin_client(compute_cloud, "2.44") as old:
            body = {"name": "old", "backup_type": "daily", "rotation": 5}
            answer = await action(old, uuid, "createBackup", body)
            assert answer.status_code == 202 and "/images/" in answer.headers["location"]
            await wait_status(client, uuid, "ACTIVE")

        for bad in (
            {"name": "x", "backup_type": "daily"},
            {"name": "x", "backup_type": "daily", "rotation": -1},
            {"name": "x", "backup_type": "daily", "rotation": 1, "color": "red"},
            {"name": "", "backup_type": "daily", "rotation": 1},
        ):
            assert fault(await action(client, uuid, "createBackup", bad), 400)

        assert (await action(client, uuid, "os-stop")).status_code == 202
        await wait_status(client, uuid, "SHUTOFF")
        stopped = {"name": "stopped", "backup_type": "daily", "rotation": 9}
        assert (await action(client, uuid, "createBackup", stopped)).status_code == 202
        await wait_status(client, uuid, "SHUTOFF")
        assert (await action(client, uuid, "shelve")).status_code == 202
        await wait_status(client, uuid, "SHELVED_OFFLOADED")
        refused = await action(client, uuid, "createBackup", stopped)
        assert "while it is in vm_state shelved_offloaded" in fault(refused, 409)
        await client.delete(f"/v2.1/servers/{uuid}")
