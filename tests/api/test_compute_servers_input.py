"""Bad boots fail at the API with Nova's message and create nothing; quotas; another
project's servers do not exist; min/max count and reservation ids."""

from __future__ import annotations

import base64

import pytest

from tests.api.compute_helpers import admin_client, fault, member_client, new_project, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, active_image, boot, boot_ok, wait_status


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    return await active_image(compute_cloud, "input-image")


async def _count(client) -> int:  # type: ignore[no-untyped-def]
    return len(ok(await client.get("/v2.1/servers"))["servers"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"flavor": "no-such-flavor"}, "Flavor no-such-flavor could not be found."),
        ({"image": "6a8f8e6c-0000-4000-8000-000000000000"}, "Can not find requested image"),
        ({"key_name": "nobody"}, "Invalid key_name provided."),
        ({"user_data": base64.b64encode(b"x" * 60000).decode()}, "user_data"),
        ({"user_data": "not base64!"}, "user_data"),
        ({"min_count": -1}, "min_count"),
        ({"min_count": 0}, "min_count"),
        ({"min_count": 3, "max_count": 2}, "min_count must be <= max_count"),
        ({"availability_zone": "atlantis"}, "The requested availability zone is not available"),
        ({"networks": None}, "'networks' is a required property"),
        ({"bogus": 1}, "Additional properties are not allowed ('bogus' was unexpected)"),
    ],
)
async def test_bad_boots_create_nothing(
    compute_cloud: Cloud, image: str, fields: dict, message: str
) -> None:
    fields = dict(fields)
    target_image = fields.pop("image", image)
    flavor = fields.pop("flavor", "1")
    async with await admin_client(compute_cloud, LATEST) as client:
        before = await _count(client)
        body = {
            "server": {
                "name": "bad",
                "imageRef": target_image,
                "flavorRef": flavor,
                "networks": "none",
                **fields,
            }
        }
        if body["server"]["networks"] is None:
            del body["server"]["networks"]
        response = await client.post("/v2.1/servers", json=body)
        assert message in fault(response, 400, "badRequest")
        assert await _count(client) == before


async def test_inactive_image_is_refused(compute_cloud: Cloud) -> None:
    async with compute_cloud.client("image") as images:
        images.headers["X-Auth-Token"] = await compute_cloud.admin_token()
        queued = ok(await images.post("/v2/images", json={"name": "empty"}), 201)["id"]
    async with await admin_client(compute_cloud, LATEST) as client:
        response = await boot(client, queued, "from-queued")
        assert fault(response, 400) == f"Image {queued} is not active."


async def test_over_quota_is_403_and_creates_nothing(compute_cloud: Cloud, image: str) -> None:
    await new_project(compute_cloud, "quota-project")
    async with await member_client(
        compute_cloud, "quota-user", LATEST, project="quota-project"
    ) as client:
        response = await boot(client, image, "many", min_count=11)
        message = fault(response, 403, "forbidden")
        assert message.startswith("Quota exceeded for instances")
        assert await _count(client) == 0
        response = await boot(client, image, "fat", flavor="5", min_count=3)
        assert "Quota exceeded for cores" in fault(response, 403)
        assert await _count(client) == 0


async def test_min_max_count_and_reservation_id(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        response = await boot(
            client, image, "multi", min_count=2, max_count=3, return_reservation_id=True
        )
        reservation = ok(response, 202)["reservation_id"]
        listed = ok(
            await client.get("/v2.1/servers/detail", params={"reservation_id": reservation})
        )["servers"]
        assert sorted(s["name"] for s in listed) == ["multi-1", "multi-2", "multi-3"]
        for server in listed:
            await wait_status(client, server["id"], "ACTIVE")
            assert (await client.delete(f"/v2.1/servers/{server['id']}")).status_code == 204


async def test_other_projects_servers_do_not_exist(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, LATEST) as admin:
        uuid = (await boot_ok(admin, image, "admins-own"))["id"]
        await wait_status(admin, uuid, "ACTIVE")
    await new_project(compute_cloud, "other-project")
    async with await member_client(
        compute_cloud, "outsider", LATEST, project="other-project"
    ) as client:
        assert "could not be found" in fault(
            await client.get(f"/v2.1/servers/{uuid}"), 404, "itemNotFound"
        )
        fault(await client.delete(f"/v2.1/servers/{uuid}"), 404)
        fault(await client.post(f"/v2.1/servers/{uuid}/action", json={"os-stop": None}), 404)
        assert uuid not in [s["id"] for s in ok(await client.get("/v2.1/servers"))["servers"]]
        refused = await client.get("/v2.1/servers", params={"all_tenants": "1"})
        fault(refused, 403)
