"""Rescue and unrescue: the states, the password answer, the rescue image (the
server's own or the one asked for, as the driver saw it) and the refusals."""

from __future__ import annotations

import pytest

from nimbus.virt.fake import FakeDriver
from tests.api.compute_helpers import admin_client, fault, member_client, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, action, active_image, boot_ok, wait_status


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    return await active_image(compute_cloud, "rescue-image")


def _driver_of(cloud: Cloud, host: str) -> FakeDriver:
    (agent,) = [
        d
        for d in cloud.process.daemons
        if getattr(d, "host", None) == host and hasattr(d, "driver")
    ]
    return agent.driver


async def test_rescue_boots_the_rescue_image_and_unrescue_the_own_disk(
    compute_cloud: Cloud, image: str
) -> None:
    other = await active_image(compute_cloud, "rescue-other")
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "rescued"))["id"]
        server = await wait_status(client, uuid, "ACTIVE")
        driver = _driver_of(compute_cloud, server["OS-EXT-SRV-ATTR:host"])

        answer = await action(client, uuid, "rescue", {"adminPass": "let-me-in"})
        assert ok(answer) == {"adminPass": "let-me-in"}  # 200, as Nova
        rescued = await wait_status(client, uuid, "RESCUE")
        assert rescued["OS-EXT-STS:vm_state"] == "rescued"
        assert driver.rescue_image_of(uuid) == image  # the server's own image by default
        for refused in ("os-stop", "rescue", "shelve", "resize"):
            body = {"flavorRef": "2"} if refused == "resize" else None
            assert "while it is in vm_state rescued" in fault(
                await action(client, uuid, refused, body), 409
            )

        assert (await action(client, uuid, "unrescue")).status_code == 202
        await wait_status(client, uuid, "ACTIVE")
        assert driver.rescue_image_of(uuid) is None
        again = await action(client, uuid, "unrescue")
        assert "while it is in vm_state active" in fault(again, 409)

        # a stopped server may be rescued too, from another image; a password is made
        assert (await action(client, uuid, "os-stop")).status_code == 202
        await wait_status(client, uuid, "SHUTOFF")
        answer = await action(client, uuid, "rescue", {"rescue_image_ref": other})
        assert len(ok(answer)["adminPass"]) >= 8
        await wait_status(client, uuid, "RESCUE")
        assert driver.rescue_image_of(uuid) == other
        events = ok(await client.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
        assert [a["action"] for a in events["instanceActions"]][:3] == [
            "rescue",
            "stop",
            "unrescue",
        ]
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_bad_rescue_requests(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "not-rescued"))["id"]
        await wait_status(client, uuid, "ACTIVE")
        missing = "6b1e5a5e-0000-4000-8000-000000000000"
        unknown = await action(client, uuid, "rescue", {"rescue_image_ref": missing})
        assert f"Requested rescue image '{missing}' is not supported" == fault(unknown, 400)
        assert fault(await action(client, uuid, "rescue", {"rescue_image_ref": "x"}), 400)
        assert "'color' was unexpected" in fault(
            await action(client, uuid, "rescue", {"color": "red"}), 400
        )
        assert (await action(client, uuid, "lock")).status_code == 202
        async with await member_client(compute_cloud, "rescue-member", LATEST) as member:
            assert "is locked" in fault(await action(member, uuid, "rescue"), 409)
        server = ok(await client.get(f"/v2.1/servers/{uuid}"))["server"]
        assert server["status"] == "ACTIVE"
        await client.delete(f"/v2.1/servers/{uuid}")
