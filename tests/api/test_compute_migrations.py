"""os-migrations: the records resizes leave, their statuses, the filters and what
each microversion changes in the list (2.23, 2.59, 2.66, 2.80)."""

from __future__ import annotations

import pytest

from tests.api.compute_helpers import admin_client, fault, member_client, ok
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, action, active_image, boot_ok, wait_status


@pytest.fixture(scope="module")
async def moved(compute_cloud: Cloud) -> dict[str, str]:
    """Two servers resized once each: one confirmed, one reverted."""
    image = await active_image(compute_cloud, "migrations-image")
    uuids = {}
    async with await admin_client(compute_cloud, LATEST) as client:
        for name, end, status in (
            ("confirmed", "confirmResize", "ACTIVE"),
            ("reverted", "revertResize", "ACTIVE"),
        ):
            uuid = (await boot_ok(client, image, f"mig-{name}"))["id"]
            await wait_status(client, uuid, "ACTIVE")
            assert (await action(client, uuid, "resize", {"flavorRef": "2"})).status_code == 202
            await wait_status(client, uuid, "VERIFY_RESIZE")
            if name == "confirmed":
                listed = ok(await client.get("/v2.1/os-migrations", params={"instance_uuid": uuid}))
                assert [m["status"] for m in listed["migrations"]] == ["finished"]
            assert (await action(client, uuid, end)).status_code in (202, 204)
            await wait_status(client, uuid, status)
            uuids[name] = uuid
    return uuids


async def test_resize_leaves_a_record(compute_cloud: Cloud, moved: dict[str, str]) -> None:
    async with await admin_client(compute_cloud, "2.80") as client:
        for name in ("confirmed", "reverted"):
            body = ok(
                await client.get("/v2.1/os-migrations", params={"instance_uuid": moved[name]})
            )
            (migration,) = body["migrations"]
            assert migration["status"] == name
            assert migration["migration_type"] == "resize"
            assert migration["source_compute"] != migration["dest_compute"]  # not same host
            assert migration["old_instance_type_id"] != migration["new_instance_type_id"]
            assert migration["source_node"] and migration["dest_node"]
            assert migration["project_id"] and migration["user_id"]
            assert len(migration["uuid"]) == 36


async def test_filters(compute_cloud: Cloud, moved: dict[str, str]) -> None:
    async with await admin_client(compute_cloud, LATEST) as client:
        reverted = ok(await client.get("/v2.1/os-migrations", params={"status": "reverted"}))
        assert [m["instance_uuid"] for m in reverted["migrations"]] == [moved["reverted"]]
        (one,) = ok(
            await client.get("/v2.1/os-migrations", params={"instance_uuid": moved["confirmed"]})
        )["migrations"]
        by_dest = ok(await client.get("/v2.1/os-migrations", params={"host": one["dest_compute"]}))
        assert one["uuid"] in [m["uuid"] for m in by_dest["migrations"]]
        by_type = ok(
            await client.get("/v2.1/os-migrations", params={"migration_type": "migration"})
        )
        assert by_type["migrations"] == []
        nobody = ok(await client.get("/v2.1/os-migrations", params={"user_id": "nobody"}))
        assert nobody["migrations"] == []
        later = ok(
            await client.get(
                "/v2.1/os-migrations", params={"changes-since": "2999-01-01T00:00:00Z"}
            )
        )
        assert later["migrations"] == []
        inverted = await client.get(
            "/v2.1/os-migrations",
            params={
                "changes-since": "2020-01-02T00:00:00Z",
                "changes-before": "2020-01-01T00:00:00Z",
            },
        )
        assert "changes-since must be less" in fault(inverted, 400)


async def test_paging_newest_first(compute_cloud: Cloud, moved: dict[str, str]) -> None:
    async with await admin_client(compute_cloud, "2.59") as client:
        first = ok(await client.get("/v2.1/os-migrations", params={"limit": 1}))
        (newest,) = first["migrations"]
        assert newest["instance_uuid"] == moved["reverted"]  # made last
        (link,) = first["migrations_links"]
        assert link["rel"] == "next" and f"marker={newest['uuid']}" in link["href"]
        rest = ok(await client.get("/v2.1/os-migrations", params={"marker": newest["uuid"]}))
        assert moved["confirmed"] in [m["instance_uuid"] for m in rest["migrations"]]
        assert newest["uuid"] not in [m["uuid"] for m in rest["migrations"]]
        unknown = await client.get("/v2.1/os-migrations", params={"marker": "nope"})
        assert "Marker nope could not be found" in fault(unknown, 400)
        extra = await client.get("/v2.1/os-migrations", params={"flavor": "x"})
        assert "'flavor' was unexpected" in fault(extra, 400)
        no_2_66 = await client.get("/v2.1/os-migrations", params={"changes-before": "2020"})
        assert "'changes-before' was unexpected" in fault(no_2_66, 400)


async def test_fields_by_microversion(compute_cloud: Cloud, moved: dict[str, str]) -> None:
    params = {"instance_uuid": moved["confirmed"], "anything": "is ignored before 2.59"}
    expected = {
        "2.1": set(),
        "2.23": {"migration_type"},
        "2.59": {"migration_type", "uuid"},
        "2.80": {"migration_type", "uuid", "user_id", "project_id"},
    }
    base = {
        "created_at",
        "dest_compute",
        "dest_host",
        "dest_node",
        "id",
        "instance_uuid",
        "new_instance_type_id",
        "old_instance_type_id",
        "source_compute",
        "source_node",
        "status",
        "updated_at",
    }
    for version, added in expected.items():
        async with await admin_client(compute_cloud, version) as client:
            query = params if version < "2.59" else {"instance_uuid": moved["confirmed"]}
            body = ok(await client.get("/v2.1/os-migrations", params=query))
            (migration,) = body["migrations"]
            assert set(migration) == base | added, version
            assert ("migrations_links" in body) is False


async def test_members_may_not_list(compute_cloud: Cloud, moved: dict[str, str]) -> None:
    async with await member_client(compute_cloud, "mig-member", LATEST) as client:
        refused = await client.get("/v2.1/os-migrations")
        assert "os_compute_api:os-migrations:index" in fault(refused, 403)


async def _host_of(client, uuid: str) -> str:  # type: ignore[no-untyped-def]
    return ok(await client.get(f"/v2.1/servers/{uuid}"))["server"]["OS-EXT-SRV-ATTR:host"]


async def test_cold_migration_moves_to_another_host(compute_cloud: Cloud) -> None:
    image = await active_image(compute_cloud, "cold-image")
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "cold"))["id"]
        await wait_status(client, uuid, "ACTIVE")
        source = await _host_of(client, uuid)
        assert (await action(client, uuid, "migrate")).status_code == 202
        server = await wait_status(client, uuid, "VERIFY_RESIZE")
        assert server["OS-EXT-SRV-ATTR:host"] != source
        assert server["flavor"]["original_name"] == "m1.tiny"  # same flavor
        assert (await action(client, uuid, "confirmResize")).status_code == 204
        await wait_status(client, uuid, "ACTIVE")
        (record,) = ok(await client.get("/v2.1/os-migrations", params={"instance_uuid": uuid}))[
            "migrations"
        ]
        assert record["migration_type"] == "migration" and record["status"] == "confirmed"
        assert record["source_compute"] == source
        assert record["old_instance_type_id"] == record["new_instance_type_id"]

        # an admin may name the host (2.56); not the same one, nor one that is not there
        here = await _host_of(client, uuid)
        same = await action(client, uuid, "migrate", {"host": here})
        assert fault(same, 400) == "The target host can't be the same one."
        assert "could not be found" in fault(
            await action(client, uuid, "migrate", {"host": "nowhere"}), 400
        )
        services = ok(await client.get("/v2.1/os-services", params={"binary": "nova-compute"}))
        target = next(s["host"] for s in services["services"] if s["host"] not in (here, source))
        assert (await action(client, uuid, "migrate", {"host": target})).status_code == 202
        await wait_status(client, uuid, "VERIFY_RESIZE")
        assert await _host_of(client, uuid) == target
        assert (await action(client, uuid, "revertResize")).status_code == 202
        await wait_status(client, uuid, "ACTIVE")
        assert await _host_of(client, uuid) == here
        async with await member_client(compute_cloud, "cold-member", LATEST) as member:
            refused = await action(member, uuid, "migrate")
            assert "os-migrate-server:migrate" in fault(refused, 403)
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_evacuate_needs_a_dead_host(compute_cloud: Cloud) -> None:
    image = await active_image(compute_cloud, "evacuate-image")
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "evacuee"))["id"]
        await wait_status(client, uuid, "ACTIVE")
        source = await _host_of(client, uuid)
        alive = await action(client, uuid, "evacuate", {})
        assert fault(alive, 400) == f"Compute service of {source} is still in use."
        assert "not found" in fault(await action(client, uuid, "evacuate", {"host": "no"}), 404)

        services = ok(await client.get("/v2.1/os-services", params={"host": source}))
        (service,) = services["services"]
        down = await client.put(f"/v2.1/os-services/{service['id']}", json={"forced_down": True})
        assert down.status_code == 200, down.text
        try:
            answer = await action(client, uuid, "evacuate", {})
            assert answer.status_code == 200 and answer.content == b""  # no password from 2.14
            server = await wait_status(client, uuid, "SHUTOFF")  # stopped from 2.95
            assert server["OS-EXT-SRV-ATTR:host"] != source
        finally:
            up = {"forced_down": False}
            assert (await client.put(f"/v2.1/os-services/{service['id']}", json=up)).is_success
        (record,) = ok(await client.get("/v2.1/os-migrations", params={"instance_uuid": uuid}))[
            "migrations"
        ]
        assert record["migration_type"] == "evacuation" and record["status"] == "done"
        assert record["dest_compute"] == server["OS-EXT-SRV-ATTR:host"]
        events = ok(await client.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
        assert events["instanceActions"][0]["action"] == "evacuate"
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_restore_refuses_servers_never_soft_deleted(compute_cloud: Cloud) -> None:
    image = await active_image(compute_cloud, "restore-image")
    async with await admin_client(compute_cloud, LATEST) as client:
        uuid = (await boot_ok(client, image, "not-soft-deleted"))["id"]
        await wait_status(client, uuid, "ACTIVE")
        refused = await action(client, uuid, "restore")
        assert fault(refused, 409) == (
            f"Cannot 'restore' instance {uuid} while it is in vm_state active"
        )
        missing = await action(client, "0d0e0f00-0000-4000-8000-000000000000", "restore")
        assert fault(missing, 404)
        await client.delete(f"/v2.1/servers/{uuid}")
