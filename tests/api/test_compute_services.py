"""os-services and os-hypervisors, read from rows as the daemons write them."""

from __future__ import annotations

import re

from tests.api.compute_helpers import (
    add_instance,
    add_service,
    admin_client,
    fault,
    member_client,
    ok,
)
from tests.api.conftest import Cloud


async def test_list_filters_state_and_shapes(cloud: Cloud) -> None:
    await add_service(cloud, "svc-up")
    await add_service(cloud, "svc-down", seen_ago=600)
    await add_service(cloud, "svc-up", "nova-conductor")
    async with await admin_client(cloud) as client:
        listed = ok(await client.get("/v2.1/os-services", params={"host": "svc-up"}))["services"]
        assert {s["binary"] for s in listed} == {"nova-compute", "nova-conductor"}
        compute = next(s for s in listed if s["binary"] == "nova-compute")
        assert set(compute) == {
            "binary",
            "host",
            "id",
            "zone",
            "status",
            "state",
            "updated_at",
            "disabled_reason",
        }
        assert isinstance(compute["id"], int) and compute["zone"] == "nova"
        assert (compute["status"], compute["state"]) == ("enabled", "up")
        conductor = next(s for s in listed if s["binary"] == "nova-conductor")
        assert conductor["zone"] == "internal"
        (down,) = ok(await client.get("/v2.1/os-services", params={"host": "svc-down"}))["services"]
        assert down["state"] == "down"
        only = ok(await client.get("/v2.1/os-services", params={"binary": "nova-conductor"}))[
            "services"
        ]
        assert {s["binary"] for s in only} == {"nova-conductor"}
    async with await admin_client(cloud, "2.53") as client:
        (shown,) = ok(
            await client.get(
                "/v2.1/os-services", params={"host": "svc-down", "binary": "nova-compute"}
            )
        )["services"]
        assert len(shown["id"]) == 36 and shown["forced_down"] is False
        ok(await client.get("/v2.1/os-services", params={"colour": "x"}))
    async with await admin_client(cloud, "2.75") as client:
        fault(await client.get("/v2.1/os-services", params={"colour": "x"}), 400)


async def test_enable_disable_force_down_before_253(cloud: Cloud) -> None:
    await add_service(cloud, "svc-old")
    async with await admin_client(cloud, "2.11") as client:
        body = {"host": "svc-old", "binary": "nova-compute", "disabled_reason": "maintenance"}
        answer = ok(await client.put("/v2.1/os-services/disable-log-reason", json=body))
        assert answer == {
            "service": {
                "host": "svc-old",
                "binary": "nova-compute",
                "status": "disabled",
                "disabled_reason": "maintenance",
            }
        }
        (listed,) = ok(await client.get("/v2.1/os-services", params={"host": "svc-old"}))[
            "services"
        ]
        assert (listed["status"], listed["disabled_reason"]) == ("disabled", "maintenance")
        body = {"host": "svc-old", "binary": "nova-compute"}
        assert (
            ok(await client.put("/v2.1/os-services/enable", json=body))["service"]["status"]
            == "enabled"
        )
        fault(await client.put("/v2.1/os-services/disable-log-reason", json=body), 400)
        answer = ok(
            await client.put("/v2.1/os-services/force-down", json={**body, "forced_down": True})
        )
        assert answer == {
            "service": {"host": "svc-old", "binary": "nova-compute", "forced_down": True}
        }
        (listed,) = ok(await client.get("/v2.1/os-services", params={"host": "svc-old"}))[
            "services"
        ]
        assert listed["state"] == "down" and listed["forced_down"] is True
        assert (
            fault(await client.put("/v2.1/os-services/reboot", json=body), 404) == "Unknown action"
        )
        message = fault(
            await client.put(
                "/v2.1/os-services/disable", json={"host": "svc-old", "binary": "nova-conductor"}
            ),
            400,
        )
        assert (
            message == "Updating a nova-conductor service is not supported. "
            "Only nova-compute services can be updated."
        )
        message = fault(
            await client.put(
                "/v2.1/os-services/disable", json={"host": "nowhere", "binary": "nova-compute"}
            ),
            404,
        )
        assert message == "Could not find binary nova-compute on host nowhere."
    async with await admin_client(cloud) as client:
        fault(
            await client.put("/v2.1/os-services/force-down", json={**body, "forced_down": True}),
            404,
        )


async def test_update_by_uuid_from_253(cloud: Cloud) -> None:
    made = await add_service(cloud, "svc-new")
    conductor = await add_service(cloud, "svc-new", "nova-conductor")
    async with await admin_client(cloud, "2.53") as client:
        path = f"/v2.1/os-services/{made['uuid']}"
        shown = ok(
            await client.put(path, json={"status": "disabled", "disabled_reason": "broken"})
        )["service"]
        assert (shown["status"], shown["disabled_reason"], shown["id"]) == (
            "disabled",
            "broken",
            made["uuid"],
        )
        shown = ok(await client.put(path, json={"status": "enabled", "forced_down": "true"}))[
            "service"
        ]
        assert (shown["status"], shown["disabled_reason"], shown["forced_down"]) == (
            "enabled",
            None,
            True,
        )
        fault(await client.put(path, json={"status": "enabled", "disabled_reason": "x"}), 400)
        fault(await client.put(path, json={}), 400)
        fault(await client.put(path, json={"status": "sleeping"}), 400)
        fault(await client.put("/v2.1/os-services/not-a-uuid", json={"status": "enabled"}), 400)
        fault(
            await client.put(f"/v2.1/os-services/{conductor['uuid']}", json={"status": "disabled"}),
            400,
        )
        fault(
            await client.put(
                "/v2.1/os-services/7e3d1a0e-0000-4000-8000-000000000000", json={"status": "enabled"}
            ),
            404,
        )


async def test_delete_refuses_while_hosting(cloud: Cloud) -> None:
    busy = await add_service(cloud, "svc-busy")
    idle = await add_service(cloud, "svc-idle")
    await add_instance(cloud, "p", host="svc-busy")
    async with await admin_client(cloud, "2.53") as client:
        message = fault(
            await client.delete(f"/v2.1/os-services/{busy['uuid']}"), 409, "conflictingRequest"
        )
        assert message.startswith("Unable to delete compute service that is hosting instances.")
        assert (await client.delete(f"/v2.1/os-services/{idle['uuid']}")).status_code == 204
        assert (
            ok(await client.get("/v2.1/os-services", params={"host": "svc-idle"}))["services"] == []
        )
        hypervisors = ok(
            await client.get(
                "/v2.1/os-hypervisors", params={"hypervisor_hostname_pattern": "svc-busy"}
            )
        )
        assert len(hypervisors["hypervisors"]) == 1
        fault(await client.delete(f"/v2.1/os-services/{idle['uuid']}"), 404)
        fault(await client.delete(f"/v2.1/os-services/{idle['id']}"), 400)
    async with await admin_client(cloud) as client:
        fault(await client.delete(f"/v2.1/os-services/{busy['uuid']}"), 400)
        fault(await client.delete("/v2.1/os-services/999999"), 404)


async def test_hypervisors_by_microversion(cloud: Cloud) -> None:
    made = await add_service(
        cloud,
        "hyp-one",
        node={
            "vcpus_used": 2,
            "memory_mb_used": 1024,
            "running_vms": 1,
            "cpu_info": '{"arch": "x86_64"}',
        },
    )
    server = await add_instance(cloud, "p", host="hyp-one", display_name="on-hyp-one")
    async with await admin_client(cloud) as client:
        listed = ok(await client.get("/v2.1/os-hypervisors"))["hypervisors"]
        brief = next(h for h in listed if h["id"] == made["node_id"])
        assert brief == {
            "id": made["node_id"],
            "hypervisor_hostname": "hyp-one.nodes.test",
            "state": "up",
            "status": "enabled",
        }
        shown = ok(await client.get(f"/v2.1/os-hypervisors/{made['node_id']}"))["hypervisor"]
        assert shown["cpu_info"] == '{"arch": "x86_64"}' and shown["free_ram_mb"] == 15360
        assert shown["service"] == {"id": made["id"], "host": "hyp-one", "disabled_reason": None}
        fault(await client.get("/v2.1/os-hypervisors/abc"), 404)
        searched = ok(await client.get("/v2.1/os-hypervisors/hyp-one/servers"))["hypervisors"]
        assert searched[0]["servers"] == [{"name": "on-hyp-one", "uuid": server}]
        assert len(ok(await client.get("/v2.1/os-hypervisors/hyp-one/search"))["hypervisors"]) == 1
        assert (
            fault(await client.get("/v2.1/os-hypervisors/nothing-like-it/search"), 404)
            == "No hypervisor matching 'nothing-like-it' could be found."
        )
        stats = ok(await client.get("/v2.1/os-hypervisors/statistics"))["hypervisor_statistics"]
        assert stats["count"] >= 1 and stats["vcpus_used"] >= 2
        assert set(stats) >= {
            "count",
            "vcpus",
            "memory_mb",
            "free_ram_mb",
            "free_disk_gb",
            "running_vms",
            "disk_available_least",
        }
        path = f"/v2.1/os-hypervisors/{made['node_id']}/uptime"
        up = ok(await client.get(path))["hypervisor"]
        pattern = r"\s*(.+)\sup\s+(.+),\s+(.+)\susers?,\s+load average:\s(.+)"
        assert re.match(pattern, up["uptime"]), up  # what openstackclient parses
    async with await admin_client(cloud, "2.28") as client:
        assert ok(await client.get(f"/v2.1/os-hypervisors/{made['node_id']}"))["hypervisor"][
            "cpu_info"
        ] == {"arch": "x86_64"}
    async with await admin_client(cloud, "2.53") as client:
        path = f"/v2.1/os-hypervisors/{made['node_uuid']}"
        shown = ok(await client.get(path, params={"with_servers": "true"}))["hypervisor"]
        assert shown["id"] == made["node_uuid"] and shown["service"]["id"] == made["uuid"]
        assert shown["servers"] == [{"name": "on-hyp-one", "uuid": server}]
        fault(await client.get(f"/v2.1/os-hypervisors/{made['node_id']}"), 400)
        fault(await client.get("/v2.1/os-hypervisors/hyp-one/search"), 404)
        matched = ok(
            await client.get(
                "/v2.1/os-hypervisors/detail", params={"hypervisor_hostname_pattern": "hyp-one"}
            )
        )
        assert [h["id"] for h in matched["hypervisors"]] == [made["node_uuid"]]
        fault(
            await client.get(
                "/v2.1/os-hypervisors", params={"hypervisor_hostname_pattern": "hyp", "limit": 1}
            ),
            400,
        )
        fault(await client.get("/v2.1/os-hypervisors", params={"bogus": 1}), 400)
    async with await admin_client(cloud, "2.88") as client:
        shown = ok(await client.get(f"/v2.1/os-hypervisors/{made['node_uuid']}"))["hypervisor"]
        assert " up " in shown["uptime"] and "vcpus" not in shown and "cpu_info" not in shown
        fault(await client.get("/v2.1/os-hypervisors/statistics"), 404)
        fault(await client.get(f"/v2.1/os-hypervisors/{made['node_uuid']}/uptime"), 404)


async def test_hypervisor_paging_from_233(cloud: Cloud) -> None:
    for n in range(3):
        await add_service(cloud, f"hyp-page-{n}")
    async with await admin_client(cloud, "2.33") as client:
        everything = ok(await client.get("/v2.1/os-hypervisors"))["hypervisors"]
        page = ok(await client.get("/v2.1/os-hypervisors", params={"limit": 2}))
        assert [h["id"] for h in page["hypervisors"]] == [h["id"] for h in everything[:2]]
        assert f"marker={everything[1]['id']}" in page["hypervisors_links"][0]["href"]
        rest = ok(await client.get("/v2.1/os-hypervisors", params={"marker": everything[1]["id"]}))
        assert [h["id"] for h in rest["hypervisors"]] == [h["id"] for h in everything[2:]]
        fault(await client.get("/v2.1/os-hypervisors", params={"marker": 999999}), 400)


async def test_members_may_not_see_services_or_hypervisors(cloud: Cloud) -> None:
    async with await member_client(cloud, "svc-member") as member:
        message = fault(await member.get("/v2.1/os-services"), 403, "forbidden")
        assert message == "Policy doesn't allow os_compute_api:os-services:list to be performed."
        fault(await member.get("/v2.1/os-hypervisors"), 403)
        fault(await member.get("/v2.1/os-hypervisors/statistics"), 403)
        fault(
            await member.put(
                "/v2.1/os-services/enable", json={"host": "h", "binary": "nova-compute"}
            ),
            403,
        )
