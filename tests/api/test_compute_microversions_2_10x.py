"""Microversions 2.101 to 2.104: flavors by name without rxtx_factor/disabled (2.102),
unknown query parameters refused everywhere (2.102), no /os-volumes_boot (2.103), and
the pinned availability zone changed by an update (2.104)."""

from __future__ import annotations

import pytest

from tests.api.compute_helpers import admin_client, fault, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import active_image, boot_ok, wait_status

NEW = "2.104"


async def test_flavors_from_2_102(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.102") as client:
        body = {"flavor": {"name": "mv-named-small", "ram": 256, "vcpus": 1, "disk": 1}}
        created = ok(await client.post("/v2.1/flavors", json=body))["flavor"]
        assert "rxtx_factor" not in created and "OS-FLV-DISABLED:disabled" not in created
        old_field = {"flavor": {**body["flavor"], "name": "mv-rxtx", "rxtx_factor": 2.0}}
        refused = await client.post("/v2.1/flavors", json=old_field)
        assert "rxtx_factor" in fault(refused, 400)
        named = ok(await client.get("/v2.1/flavors/detail", params={"name": "^mv-named"}))
        assert [f["name"] for f in named["flavors"]] == ["mv-named-small"]
        assert "rxtx_factor" not in named["flavors"][0]
        shown = ok(await client.get(f"/v2.1/flavors/{created['id']}"))["flavor"]
        assert "OS-FLV-DISABLED:disabled" not in shown
        by_rxtx = await client.get("/v2.1/flavors", params={"sort_key": "rxtx_factor"})
        assert fault(by_rxtx, 400)
    async with await admin_client(cloud, "2.101") as client:
        shown = ok(await client.get(f"/v2.1/flavors/{created['id']}"))["flavor"]
        assert shown["rxtx_factor"] == 1.0 and shown["OS-FLV-DISABLED:disabled"] is False
        unknown = await client.get("/v2.1/flavors", params={"name": "^mv-named"})
        assert "'name' was unexpected" in fault(unknown, 400)  # strict since 2.75


@pytest.mark.parametrize(
    ("path", "strict_before"),
    [
        ("/v2.1/servers/detail", False),
        ("/v2.1/servers/0d0e0f00-0000-4000-8000-000000000000", False),
        ("/v2.1/os-availability-zone", False),
        ("/v2.1/os-aggregates", False),
        ("/v2.1/flavors", True),  # strict from 2.75 already
        ("/v2.1/os-keypairs", True),
        ("/v2.1/limits", True),
        ("/v2.1/os-services", True),
        ("/v2.1/os-migrations", True),  # from 2.59
        ("/v2.1/os-hypervisors", True),  # from 2.53
    ],
)
async def test_unknown_query_parameters_refused_from_2_102(
    cloud: Cloud, path: str, strict_before: bool
) -> None:
    async with await admin_client(cloud, "2.102") as client:
        refused = await client.get(path, params={"bogus": "1"})
        message = fault(refused, 400)
        assert message == "Additional properties are not allowed ('bogus' was unexpected)"
    async with await admin_client(cloud, "2.101") as client:
        before = await client.get(path, params={"bogus": "1"})
        assert (before.status_code == 400) is strict_before, before.text


async def test_known_parameters_still_work_at_2_102(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.102") as client:
        listed = await client.get("/v2.1/servers/detail", params={"limit": 1, "all_tenants": 1})
        assert listed.status_code == 200, listed.text
        assert ok(await client.get("/v2.1/os-services", params={"binary": "nova-compute"}))


async def test_os_volumes_boot_is_not_served(cloud: Cloud) -> None:
    for version in ("2.1", "2.103"):
        async with await admin_client(cloud, version) as client:
            assert (await client.get("/v2.1/os-volumes_boot")).status_code == 404


async def test_pinned_availability_zone_from_2_104(compute_cloud: Cloud) -> None:
    image = await active_image(compute_cloud, "pin-image")
    async with await admin_client(compute_cloud, NEW) as client:
        uuid = (await boot_ok(client, image, "pinned", availability_zone="nova"))["id"]
        server = await wait_status(client, uuid, "ACTIVE")
        assert server["pinned_availability_zone"] == "nova"

        async def update(zone):  # type: ignore[no-untyped-def]
            body = {"server": {"pinned_availability_zone": zone}}
            return await client.put(f"/v2.1/servers/{uuid}", json=body)

        same = ok(await update("nova"))["server"]  # idempotent
        assert same["pinned_availability_zone"] == "nova"
        other = await update("elsewhere")
        assert "unpin it" in fault(other, 409)
        assert ok(await update(None))["server"]["pinned_availability_zone"] is None
        wrong = await update("elsewhere")
        assert "can only be pinned to the zone it is in" in fault(wrong, 409)
        repinned = ok(await update("nova"))["server"]
        assert repinned["pinned_availability_zone"] == "nova"
    async with await admin_client(compute_cloud, "2.103") as old:
        body = {"server": {"pinned_availability_zone": None}}
        refused = await old.put(f"/v2.1/servers/{uuid}", json=body)
        assert "'pinned_availability_zone' was unexpected" in fault(refused, 400)
        await old.delete(f"/v2.1/servers/{uuid}")
