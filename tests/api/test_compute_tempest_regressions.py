"""Compute API behaviour that Tempest's compute tests exposed as wrong or missing: the
legacy version document, the shape of update and rebuild answers per microversion,
access addresses in canonical form, FQDN host names (2.94), os-resetState, server
diagnostics, Keystone's bootstrap roles (Tempest's service and manager personas), the
older operator APIs Tempest still drives: os-hosts, the image proxy, simple tenant
usage, the usage audit log and external events; and OS-DCF:diskConfig kept, forceDelete
and the `ip` list filter.
"""

from __future__ import annotations

import asyncio
import base64

import pytest

from nimbus.compute import instances
from tests.api.compute_helpers import (
    PASSWORD,
    admin_client,
    compute_client,
    fault,
    member_client,
    new_project,
    ok,
    project_id_of,
)
from tests.api.conftest import Cloud
from tests.api.network_helpers import admin_client as network_admin
from tests.api.network_helpers import network_with_subnet
from tests.api.server_helpers import (
    LATEST,
    action,
    active_image,
    boot,
    boot_ok,
    wait_gone,
    wait_status,
)

#: What Nova's update and rebuild answers lack before 2.75 (the GET view has them).
_GET_ONLY = {
    "OS-EXT-AZ:availability_zone",
    "config_drive",
    "OS-SRV-USG:launched_at",
    "OS-SRV-USG:terminated_at",
    "OS-EXT-STS:task_state",
    "OS-EXT-STS:vm_state",
    "OS-EXT-STS:power_state",
    "os-extended-volumes:volumes_attached",
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:instance_name",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
}


@pytest.fixture(scope="module")
async def image(compute_cloud: Cloud) -> str:
    return await active_image(compute_cloud, "tempest-regressions-image")


async def _active(client, image: str, name: str, **fields) -> str:  # type: ignore[no-untyped-def]
    uuid = (await boot_ok(client, image, name, **fields))["id"]
    await wait_status(client, uuid, "ACTIVE")
    return uuid


async def test_every_listed_version_has_its_document(cloud: Cloud) -> None:
    async with cloud.client("compute") as client:
        listed = ok(await client.get("/"))["versions"]
        for version in listed:
            (self_link,) = [link for link in version["links"] if link["rel"] == "self"]
            path = self_link["href"].removeprefix("http://nimbus.test")
            document = ok(await client.get(path))["version"]
            assert document["id"] == version["id"]
            assert [link for link in document["links"] if link["rel"] == "self"] == [self_link]
        legacy = ok(await client.get("/v2"))["version"]
    assert legacy["status"] == "SUPPORTED" and legacy["version"] == ""
    assert legacy["media-types"][0]["type"].endswith("version=2")


async def test_update_answers_the_basic_view_before_2_75(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, "2.100") as client:
        uuid = await _active(client, image, "update-shape")
    async with await admin_client(compute_cloud) as old:
        server = ok(await old.put(f"/v2.1/servers/{uuid}", json={"server": {"name": "u2"}}))
        assert server["server"]["name"] == "u2"
        assert not _GET_ONLY & server["server"].keys()
        assert "key_name" not in server["server"]
        shown = ok(await old.get(f"/v2.1/servers/{uuid}"))["server"]
        assert shown.keys() >= _GET_ONLY
    async with await admin_client(compute_cloud, "2.75") as new:
        server = ok(await new.put(f"/v2.1/servers/{uuid}", json={"server": {"name": "u3"}}))
        assert server["server"].keys() >= _GET_ONLY and "key_name" in server["server"]
        await new.delete(f"/v2.1/servers/{uuid}")


async def test_rebuild_answer_per_microversion(compute_cloud: Cloud, image: str) -> None:
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    async with await admin_client(compute_cloud, "2.100") as client:
        uuid = await _active(client, image, "rebuild-shape", user_data=user_data)
    expectations = {
        # version: (basic view only, key_name shown, user_data shown)
        "2.1": (True, False, False),
        "2.54": (True, True, False),
        "2.57": (True, True, True),
        "2.75": (False, True, True),
    }
    for version, (basic, key_name, with_user_data) in expectations.items():
        async with await admin_client(compute_cloud, version) as client:
            response = await action(client, uuid, "rebuild", {"imageRef": image})
            server = ok(response, 202)["server"]
            assert server["adminPass"]
            assert (not _GET_ONLY & server.keys()) is basic, version
            assert ("key_name" in server) is key_name, version
            assert ("user_data" in server) is with_user_data, version
            if with_user_data:
                assert server["user_data"] == user_data
            assert "OS-EXT-SRV-ATTR:user_data" not in server
            await wait_status(client, uuid, "ACTIVE")
    async with await admin_client(compute_cloud) as client:
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_access_addresses_are_stored_canonical(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, "2.100") as client:
        uuid = await _active(
            client,
            image,
            "access-ips",
            accessIPv4="1.1.1.1",
            accessIPv6="0000:0000:0000:0000:0000:babe:220.12.22.2",
        )
        server = ok(await client.get(f"/v2.1/servers/{uuid}"))["server"]
        assert server["accessIPv6"] == "::babe:dc0c:1602"
        assert server["accessIPv4"] == "1.1.1.1"
        changed = await client.put(
            f"/v2.1/servers/{uuid}", json={"server": {"accessIPv6": "2001:DB8:0:0::1"}}
        )
        assert ok(changed)["server"]["accessIPv6"] == "2001:db8::1"
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_fqdn_host_names_from_2_94(compute_cloud: Cloud, image: str) -> None:
    fqdn = "x" * 52 + "-guest-test.domaintest.com"
    async with await admin_client(compute_cloud, "2.90") as client:
        refused = await client.post(
            "/v2.1/servers",
            json={
                "server": {
                    "name": "fqdn-old",
                    "imageRef": image,
                    "flavorRef": "1",
                    "networks": "none",
                    "hostname": fqdn,
                }
            },
        )
        assert "at most 63 characters" in fault(refused, 400, "badRequest")
    async with await admin_client(compute_cloud, "2.94") as client:
        uuid = await _active(client, image, "fqdn-new", hostname=fqdn)
        server = ok(await client.get(f"/v2.1/servers/{uuid}"))["server"]
        assert server["OS-EXT-SRV-ATTR:hostname"] == fqdn
        too_long = await client.put(
            f"/v2.1/servers/{uuid}", json={"server": {"hostname": "a" * 256}}
        )
        fault(too_long, 400, "badRequest")
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_reset_state_is_for_admins(compute_cloud: Cloud, image: str) -> None:
    await new_project(compute_cloud, "reset-state-project")
    async with await member_client(
        compute_cloud, "reset-state-member", "2.100", project="reset-state-project"
    ) as member:
        uuid = await _active(member, image, "reset-me")
        refused = await action(member, uuid, "os-resetState", {"state": "error"})
        fault(refused, 403, "forbidden")
    async with await admin_client(compute_cloud, "2.100") as admin:
        bad = await action(admin, uuid, "os-resetState", {"state": "paused"})
        fault(bad, 400, "badRequest")
        missing = await action(
            admin, "00000000-0000-0000-0000-000000000000", "os-resetState", {"state": "error"}
        )
        fault(missing, 404, "itemNotFound")
        assert (await action(admin, uuid, "os-resetState", {"state": "error"})).status_code == 202
        server = ok(await admin.get(f"/v2.1/servers/{uuid}"))["server"]
        assert (server["status"], server["OS-EXT-STS:vm_state"]) == ("ERROR", "error")
        assert server["OS-EXT-STS:task_state"] is None
        listed = ok(await admin.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
        assert "resetState" in {a["action"] for a in listed["instanceActions"]}
        assert (await action(admin, uuid, "os-resetState", {"state": "active"})).status_code == 202
        await wait_status(admin, uuid, "ACTIVE")
        await admin.delete(f"/v2.1/servers/{uuid}")


async def test_diagnostics_refused_to_members_and_unsupported(
    compute_cloud: Cloud, image: str
) -> None:
    await new_project(compute_cloud, "diagnostics-project")
    async with await member_client(
        compute_cloud, "diagnostics-member", "2.100", project="diagnostics-project"
    ) as member:
        uuid = await _active(member, image, "diagnosed")
        fault(await member.get(f"/v2.1/servers/{uuid}/diagnostics"), 403, "forbidden")
    async with await admin_client(compute_cloud, "2.48") as admin:
        unsupported = await admin.get(f"/v2.1/servers/{uuid}/diagnostics")
        fault(unsupported, 501, "notImplemented")
        missing = await admin.get("/v2.1/servers/00000000-0000-0000-0000-000000000000/diagnostics")
        fault(missing, 404, "itemNotFound")
        await admin.delete(f"/v2.1/servers/{uuid}")


async def test_bootstrap_makes_keystones_default_roles(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        roles = {r["name"]: r["id"] for r in ok(await client.get("/v3/roles"))["roles"]}
        assert {"admin", "manager", "member", "reader", "service"} <= roles.keys()
        rules = ok(await client.get("/v3/role_inferences"))["role_inferences"]
    implies = {rule["prior_role"]["name"]: {r["name"] for r in rule["implies"]} for rule in rules}
    assert implies["admin"] >= {"manager"}
    assert implies["manager"] == {"member"}
    assert implies["member"] == {"reader"}
    assert "service" not in implies


async def test_legacy_os_hosts(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, "2.100") as client:
        uuid = await _active(client, image, "on-a-host")
        host = ok(await client.get(f"/v2.1/servers/{uuid}"))["server"]["OS-EXT-SRV-ATTR:host"]
        fault(await client.get("/v2.1/os-hosts"), 404, "itemNotFound")  # gone at 2.43
    async with await admin_client(compute_cloud, "2.42") as admin:
        hosts = ok(await admin.get("/v2.1/os-hosts"))["hosts"]
        assert {"host_name": host, "service": "compute", "zone": "nova"} in hosts
        assert {h["service"] for h in hosts} >= {"compute", "conductor", "scheduler"}
        in_nova = ok(await admin.get("/v2.1/os-hosts", params={"zone": "nova"}))["hosts"]
        assert {h["zone"] for h in in_nova} == {"nova"}
        assert ok(await admin.get("/v2.1/os-hosts", params={"zone": ""}))["hosts"] == hosts
        assert ok(await admin.get("/v2.1/os-hosts", params={"zone": "xxx"}))["hosts"] == []

        lines = [r["resource"] for r in ok(await admin.get(f"/v2.1/os-hosts/{host}"))["host"]]
        by_project = {line["project"]: line for line in lines}
        assert [line["project"] for line in lines[:3]] == ["(total)", "(used_now)", "(used_max)"]
        assert by_project["(total)"]["cpu"] == 4 and by_project["(used_max)"]["cpu"] >= 1
        assert all(line["host"] == host for line in lines)
        fault(await admin.get("/v2.1/os-hosts/nowhere"), 404, "itemNotFound")

        disabled = await admin.put(f"/v2.1/os-hosts/{host}", json={"status": "disable"})
        assert ok(disabled) == {"host": host, "status": "disabled"}
        listed = ok(await admin.get("/v2.1/os-services", params={"host": host}))["services"]
        assert [s["status"] for s in listed if s["binary"] == "nova-compute"] == ["disabled"]
        enabled = await admin.put(f"/v2.1/os-hosts/{host}", json={"status": "Enable"})
        assert ok(enabled)["status"] == "enabled"
        fault(await admin.put(f"/v2.1/os-hosts/{host}", json={}), 400, "badRequest")
        bad = await admin.put(f"/v2.1/os-hosts/{host}", json={"status": "invalid"})
        fault(bad, 400, "badRequest")
        maintenance = await admin.put(f"/v2.1/os-hosts/{host}", json={"maintenance_mode": "enable"})
        fault(maintenance, 501, "notImplemented")
        for power in ("startup", "shutdown", "reboot"):
            fault(await admin.get(f"/v2.1/os-hosts/{host}/{power}"), 501, "notImplemented")
            fault(await admin.get(f"/v2.1/os-hosts/nowhere/{power}"), 404, "itemNotFound")
        await admin.delete(f"/v2.1/servers/{uuid}")
    await new_project(compute_cloud, "hosts-project")
    async with await member_client(
        compute_cloud, "hosts-member", "2.42", project="hosts-project"
    ) as member:
        fault(await member.get("/v2.1/os-hosts"), 403, "forbidden")
        fault(await member.get(f"/v2.1/os-hosts/{host}"), 403, "forbidden")
        refused = await member.put(f"/v2.1/os-hosts/{host}", json={"status": "enable"})
        fault(refused, 403, "forbidden")
        fault(await member.get(f"/v2.1/os-hosts/{host}/reboot"), 403, "forbidden")


async def test_instance_usage_audit_log_reports_no_audit_run(compute_cloud: Cloud) -> None:
    async with await admin_client(compute_cloud) as admin:
        report = ok(await admin.get("/v2.1/os-instance_usage_audit_log"))
        report = report["instance_usage_audit_logs"]
        hosts = report["hosts_not_run"]
        assert len(hosts) == report["num_hosts"] == report["num_hosts_not_run"] >= 1
        assert report["overall_status"] == f"0 of {len(hosts)} hosts done. 0 errors."
        before = await admin.get("/v2.1/os-instance_usage_audit_log/2026-03-15%2010:00:00")
        shown = ok(before)["instance_usage_audit_log"]
        assert (shown["period_beginning"], shown["period_ending"]) == (
            "2026-02-01 00:00:00",
            "2026-03-01 00:00:00",
        )
        january = await admin.get("/v2.1/os-instance_usage_audit_log/2026-01-01%2000:00:00.0")
        assert ok(january)["instance_usage_audit_log"]["period_beginning"] == (
            "2025-11-01 00:00:00"
        )
        invalid = await admin.get("/v2.1/os-instance_usage_audit_log/invalid_time")
        assert fault(invalid, 400, "badRequest") == "Invalid timestamp for date invalid_time"
    await new_project(compute_cloud, "audit-project")
    async with await member_client(compute_cloud, "audit-member", project="audit-project") as m:
        fault(await m.get("/v2.1/os-instance_usage_audit_log"), 403, "forbidden")
        fault(await m.get("/v2.1/os-instance_usage_audit_log/2026-03-15%2010:00:00"), 403)


async def test_simple_tenant_usage(compute_cloud: Cloud, image: str) -> None:
    project = await new_project(compute_cloud, "usage-project")
    async with await member_client(
        compute_cloud, "usage-member", "2.100", project="usage-project"
    ) as member:
        uuid = await _active(member, image, "billed")
    period = {"start": "2020-01-01T00:00:00", "end": "2100-01-01T00:00:00.000000"}
    async with await admin_client(compute_cloud) as admin:
        listed = ok(await admin.get("/v2.1/os-simple-tenant-usage", params=period))
        mine = [u for u in listed["tenant_usages"] if u["tenant_id"] == project]
        assert len(mine) == 1 and "server_usages" not in mine[0]
        detailed = ok(
            await admin.get("/v2.1/os-simple-tenant-usage", params={**period, "detailed": "1"})
        )
        (usage,) = [u for u in detailed["tenant_usages"] if u["tenant_id"] == project]
        assert len(usage) == 8
        (line,) = usage["server_usages"]
        assert (line["instance_id"], line["flavor"], line["state"]) == (uuid, "m1.tiny", "active")
        assert (line["vcpus"], line["memory_mb"], line["local_gb"]) == (1, 512, 1)
        assert line["ended_at"] is None and line["hours"] > 0
        assert usage["total_vcpus_usage"] == line["hours"]
        assert usage["total_memory_mb_usage"] == 512 * line["hours"]
        backwards = {"start": period["end"], "end": period["start"]}
        refused = await admin.get(f"/v2.1/os-simple-tenant-usage/{project}", params=backwards)
        assert "start time cannot occur after the end time" in fault(refused, 400, "badRequest")
        garbled = await admin.get("/v2.1/os-simple-tenant-usage", params={"start": "yesterday"})
        assert fault(garbled, 400) == "Datetime is in invalid format"
        await admin.delete(f"/v2.1/servers/{uuid}")
    async with await compute_client(
        compute_cloud, user="usage-member", project="usage-project"
    ) as member:
        shown = ok(await member.get(f"/v2.1/os-simple-tenant-usage/{project}", params=period))
        assert len(shown["tenant_usage"]) == 8
        fault(await member.get("/v2.1/os-simple-tenant-usage", params=period), 403, "forbidden")
        admin_project = await project_id_of(compute_cloud, "admin")
        other = await member.get(f"/v2.1/os-simple-tenant-usage/{admin_project}", params=period)
        fault(other, 403, "forbidden")
    async with await admin_client(compute_cloud) as admin:
        quiet = {"start": "2000-01-01T00:00:00", "end": "2000-02-01T00:00:00"}
        empty = ok(await admin.get(f"/v2.1/os-simple-tenant-usage/{project}", params=quiet))
        assert empty == {"tenant_usage": {}}


async def test_image_proxy_lists_shows_and_deletes(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, "2.100") as client:
        uuid = await _active(client, image, "proxy-source")
        snapshot = await action(client, uuid, "createImage", {"name": "proxy-snap"})
        snapshot_id = ok(snapshot, 202)["image_id"]
    async with await admin_client(compute_cloud, "2.35") as client:
        for _ in range(200):
            shown = ok(await client.get(f"/v2.1/images/{snapshot_id}"))["image"]
            if shown["status"] == "ACTIVE":
                break
            await asyncio.sleep(0.05)
        assert (shown["status"], shown["progress"], shown["name"]) == ("ACTIVE", 100, "proxy-snap")
        assert shown["server"]["id"] == uuid and shown["metadata"]["image_type"] == "snapshot"
        assert shown["created"].endswith("Z") and isinstance(shown["minRam"], int)
        listed = ok(await client.get("/v2.1/images"))["images"]
        assert {i["id"] for i in listed} >= {image, snapshot_id}
        assert set(listed[0]) == {"id", "name", "links"}
        for params in (
            {"server": uuid},
            {"server": f"http://nimbus.test/v2.1/servers/{uuid}"},
            {"type": "snapshot", "name": "proxy-snap"},
        ):
            found = ok(await client.get("/v2.1/images/detail", params=params))["images"]
            assert [i["id"] for i in found] == [snapshot_id], params
        active = ok(await client.get("/v2.1/images", params={"status": "ACTIVE"}))["images"]
        assert image in {i["id"] for i in active}
        page = ok(await client.get("/v2.1/images", params={"limit": "1"}))
        assert len(page["images"]) == 1 and page["images_links"][0]["rel"] == "next"
        assert (await client.delete(f"/v2.1/images/{snapshot_id}")).status_code == 204
        fault(await client.get(f"/v2.1/images/{snapshot_id}"), 404, "itemNotFound")
        await client.delete(f"/v2.1/servers/{uuid}")
    async with await admin_client(compute_cloud, "2.36") as client:
        fault(await client.get("/v2.1/images"), 404, "itemNotFound")


async def test_image_proxy_metadata(compute_cloud: Cloud) -> None:
    await new_project(compute_cloud, "image-meta-project")
    async with await member_client(
        compute_cloud, "image-meta-member", "2.38", project="image-meta-project"
    ) as member:
        owned = await _private_image(compute_cloud, "image-meta-member", "image-meta-project")
        base = f"/v2.1/images/{owned}/metadata"
        meta = {"os_version": "value1", "os_distro": "value2"}
        assert ok(await member.put(base, json={"metadata": meta})) == {"metadata": meta}
        merged = ok(await member.post(base, json={"metadata": {"os_version": "alt1"}}))
        assert merged == {"metadata": {"os_version": "alt1", "os_distro": "value2"}}
        item = ok(await member.get(f"{base}/os_distro"))
        assert item == {"meta": {"os_distro": "value2"}}
        put = await member.put(f"{base}/arch", json={"meta": {"arch": "x86_64"}})
        assert ok(put) == {"meta": {"arch": "x86_64"}}
        mismatch = await member.put(f"{base}/arch", json={"meta": {"other": "x"}})
        fault(mismatch, 400, "badRequest")
        assert (await member.delete(f"{base}/arch")).status_code == 204
        fault(await member.get(f"{base}/arch"), 404, "itemNotFound")
        fault(await member.delete(f"{base}/arch"), 404, "itemNotFound")
        too_many = {f"k{i}": "v" for i in range(129)}
        refused = await member.put(base, json={"metadata": too_many})
        assert fault(refused, 403, "forbidden") == "Image metadata limit exceeded"
        missing = "/v2.1/images/00000000-0000-0000-0000-000000000000/metadata"
        fault(await member.get(missing), 404, "itemNotFound")
        fault(await member.put(missing, json={"metadata": meta}), 404, "itemNotFound")
        listed = ok(await member.get(base))
        assert listed == {"metadata": {"os_version": "alt1", "os_distro": "value2"}}
    await new_project(compute_cloud, "image-meta-other")
    async with await member_client(
        compute_cloud, "image-meta-stranger", "2.38", project="image-meta-other"
    ) as stranger:
        fault(await stranger.get(base), 404, "itemNotFound")  # private: not visible


async def _private_image(cloud: Cloud, user: str, project: str) -> str:
    """A private image owned by `project` (created by `user`), with data."""
    async with cloud.client("image") as client:
        client.headers["X-Auth-Token"] = await cloud.token(user, PASSWORD, project=project)
        created = await client.post(
            "/v2/images",
            json={"name": "meta", "disk_format": "raw", "container_format": "bare"},
        )
        image_id = ok(created, 201)["id"]
        uploaded = await client.put(
            f"/v2/images/{image_id}/file",
            content=b"*" * 1024,
            headers={"content-type": "application/octet-stream"},
        )
        assert uploaded.status_code == 204, uploaded.text
    return image_id


async def test_external_events_from_service_users(compute_cloud: Cloud, image: str) -> None:
    async with await admin_client(compute_cloud, "2.100") as admin:
        uuid = await _active(admin, image, "evented")
        events = [{"name": "network-changed", "server_uuid": uuid}]
        refused = await admin.post("/v2.1/os-server-external-events", json={"events": events})
        fault(refused, 403, "forbidden")  # admin alone is not a service
    await _user_with_roles(compute_cloud, "event-service", ("admin", "service"))
    async with await compute_client(
        compute_cloud, "2.100", user="event-service", project="admin"
    ) as service:
        missing = "00000000-0000-0000-0000-000000000000"
        both = [
            {"name": "network-vif-plugged", "server_uuid": uuid, "status": "failed", "tag": "p1"},
            {"name": "network-changed", "server_uuid": missing},
        ]
        answer = await service.post("/v2.1/os-server-external-events", json={"events": both})
        assert answer.status_code == 207, answer.text
        first, second = answer.json()["events"]
        assert first == {**both[0], "code": 200}
        assert second == {**both[1], "code": 404, "status": "failed"}
        one = await service.post("/v2.1/os-server-external-events", json={"events": events})
        assert ok(one)["events"] == [{**events[0], "status": "completed", "code": 200}]
        none = [{"name": "network-changed", "server_uuid": missing}]
        gone = await service.post("/v2.1/os-server-external-events", json={"events": none})
        fault(gone, 404, "itemNotFound")
        newer = [{"name": "power-update", "server_uuid": uuid, "tag": "POWER_OFF"}]
        async with await compute_client(
            compute_cloud, "2.75", user="event-service", project="admin"
        ) as old:
            early = await old.post("/v2.1/os-server-external-events", json={"events": newer})
            fault(early, 400, "badRequest")
    async with await admin_client(compute_cloud) as admin:
        await admin.delete(f"/v2.1/servers/{uuid}")


async def _user_with_roles(cloud: Cloud, name: str, roles: tuple[str, ...]) -> None:
    """`name` (password PASSWORD) holding `roles` on the admin project."""
    user = await cloud.make_user(name, project="admin", role=roles[0], password=PASSWORD)
    project = await project_id_of(cloud, "admin")
    async with await cloud.admin() as identity:
        for role in roles[1:]:
            listed = await identity.get("/v3/roles", params={"name": role})
            role_id = listed.json()["roles"][0]["id"]
            granted = await identity.put(
                f"/v3/projects/{project}/users/{user['id']}/roles/{role_id}"
            )
            assert granted.status_code == 204, granted.text


async def test_image_tasks_list_is_empty_for_visible_images(compute_cloud: Cloud) -> None:
    await new_project(compute_cloud, "tasks-project")
    await compute_cloud.make_user(
        "tasks-member", project="tasks-project", role="member", password=PASSWORD
    )
    owned = await _private_image(compute_cloud, "tasks-member", "tasks-project")
    async with compute_cloud.client("image") as client:
        client.headers["X-Auth-Token"] = await compute_cloud.token(
            "tasks-member", PASSWORD, project="tasks-project"
        )
        assert ok(await client.get(f"/v2/images/{owned}/tasks")) == {"tasks": []}
        missing = await client.get("/v2/images/00000000-0000-0000-0000-000000000000/tasks")
        assert missing.status_code == 404


async def test_snapshot_metadata_overrides_system_properties(
    compute_cloud: Cloud, image: str
) -> None:
    async with await admin_client(compute_cloud, "2.100") as client:
        uuid = await _active(client, image, "snap-meta")
        body = {"name": "snap-meta-image", "metadata": {"image_type": "test", "k": "v"}}
        snapshot_id = ok(await action(client, uuid, "createImage", body), 202)["image_id"]
    async with compute_cloud.client("image") as images_client:
        images_client.headers["X-Auth-Token"] = await compute_cloud.admin_token()
        shown = ok(await images_client.get(f"/v2/images/{snapshot_id}"))
    assert (shown["image_type"], shown["k"], shown["instance_uuid"]) == ("test", "v", uuid)
    async with await admin_client(compute_cloud, "2.100") as client:
        await wait_status(client, uuid, "ACTIVE")
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_responses_carry_the_compute_request_id_too(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        for response in (await client.get("/v2.1/flavors"), await client.get("/v2.1/nothing")):
            request_id = response.headers["x-openstack-request-id"]
            assert request_id.startswith("req-")
            assert response.headers.get_list("x-compute-request-id") == [request_id]


async def test_server_ips_and_inject_network_info(compute_cloud: Cloud, image: str) -> None:
    await new_project(compute_cloud, "ips-project")
    async with await member_client(
        compute_cloud, "ips-member", "2.100", project="ips-project"
    ) as member:
        uuid = await _active(member, image, "addressed")
        shown = ok(await member.get(f"/v2.1/servers/{uuid}"))["server"]
        assert ok(await member.get(f"/v2.1/servers/{uuid}/ips")) == {
            "addresses": shown["addresses"]
        }
        missing = await member.get(f"/v2.1/servers/{uuid}/ips/no-such-net")
        assert fault(missing, 404) == "Instance is not a member of specified network"
        gone = await member.get("/v2.1/servers/00000000-0000-0000-0000-000000000000/ips")
        fault(gone, 404, "itemNotFound")
        refused = await action(member, uuid, "injectNetworkInfo")
        fault(refused, 403, "forbidden")
    async with await admin_client(compute_cloud, "2.100") as admin:
        assert (await action(admin, uuid, "injectNetworkInfo")).status_code == 202
        await admin.delete(f"/v2.1/servers/{uuid}")


async def test_server_password_shown_and_cleared(compute_cloud: Cloud, image: str) -> None:
    await new_project(compute_cloud, "password-project")
    async with await member_client(
        compute_cloud, "password-member", "2.100", project="password-project"
    ) as member:
        uuid = await _active(member, image, "passworded")
        url = f"/v2.1/servers/{uuid}/os-server-password"
        assert ok(await member.get(url)) == {"password": ""}
        async with compute_cloud.process.db.transaction() as session:
            await instances.transition(
                session, uuid, {"system_metadata": {"password": "ciphertext"}}
            )
        assert ok(await member.get(url)) == {"password": "ciphertext"}
        assert (await member.delete(url)).status_code == 204
        assert ok(await member.get(url)) == {"password": ""}
        await member.delete(f"/v2.1/servers/{uuid}")


async def _disk_config(client, uuid: str) -> str:  # type: ignore[no-untyped-def]
    return ok(await client.get(f"/v2.1/servers/{uuid}"))["server"]["OS-DCF:diskConfig"]


async def test_disk_config_is_kept_through_update_rebuild_and_resize(
    compute_cloud: Cloud, image: str
) -> None:
    async with (
        await admin_client(compute_cloud) as old,
        await admin_client(compute_cloud, LATEST) as client,
    ):
        made = await boot_ok(client, image, "disk-auto", **{"OS-DCF:diskConfig": "AUTO"})
        uuid = made["id"]
        assert made["OS-DCF:diskConfig"] == "AUTO"
        await wait_status(client, uuid, "ACTIVE")
        assert await _disk_config(old, uuid) == await _disk_config(client, uuid) == "AUTO"
        listed = ok(await old.get("/v2.1/servers/detail"))["servers"]
        assert [s["OS-DCF:diskConfig"] for s in listed if s["id"] == uuid] == ["AUTO"]
        updated = await old.put(
            f"/v2.1/servers/{uuid}", json={"server": {"OS-DCF:diskConfig": "MANUAL"}}
        )
        assert ok(updated)["server"]["OS-DCF:diskConfig"] == "MANUAL"
        rebuilt = await action(
            old, uuid, "rebuild", {"imageRef": image, "OS-DCF:diskConfig": "AUTO"}
        )
        assert ok(rebuilt, 202)["server"]["OS-DCF:diskConfig"] == "AUTO"
        await wait_status(client, uuid, "ACTIVE")
        # without a value a rebuild takes the image's (none here: MANUAL)
        assert (await action(client, uuid, "rebuild", {"imageRef": image})).status_code == 202
        await wait_status(client, uuid, "ACTIVE")
        assert await _disk_config(client, uuid) == "MANUAL"
        resized = await action(
            client, uuid, "resize", {"flavorRef": "2", "OS-DCF:diskConfig": "AUTO"}
        )
        assert resized.status_code == 202
        await wait_status(client, uuid, "VERIFY_RESIZE")
        assert (await action(client, uuid, "confirmResize")).status_code == 204
        assert (await wait_status(client, uuid, "ACTIVE"))["OS-DCF:diskConfig"] == "AUTO"
        # a resize without a value sets MANUAL, as Nova's
        assert (await action(client, uuid, "resize", {"flavorRef": "3"})).status_code == 202
        await wait_status(client, uuid, "VERIFY_RESIZE")
        assert await _disk_config(client, uuid) == "MANUAL"
        await client.delete(f"/v2.1/servers/{uuid}")


async def test_disk_config_follows_the_image_property(compute_cloud: Cloud, image: str) -> None:
    auto = await active_image(compute_cloud, "disk-auto-image", auto_disk_config="True")
    disabled = await active_image(compute_cloud, "disk-disabled-image", auto_disk_config="disabled")
    refusal = f"Requested image {disabled} has automatic disk resize disabled."
    async with await admin_client(compute_cloud, LATEST) as client:
        inherited = await boot_ok(client, auto, "disk-from-image")
        assert inherited["OS-DCF:diskConfig"] == "AUTO"
        refused = await boot(client, disabled, "disk-refused", **{"OS-DCF:diskConfig": "AUTO"})
        assert fault(refused, 400) == refusal
        manual = await boot_ok(client, disabled, "disk-manual")
        assert manual["OS-DCF:diskConfig"] == "MANUAL"
        for uuid in (inherited["id"], manual["id"]):
            await wait_status(client, uuid, "ACTIVE")
        resized = await action(
            client, manual["id"], "resize", {"flavorRef": "2", "OS-DCF:diskConfig": "AUTO"}
        )
        assert fault(resized, 400) == refusal
        rebuilt = await action(
            client, inherited["id"], "rebuild", {"imageRef": disabled, "OS-DCF:diskConfig": "AUTO"}
        )
        assert fault(rebuilt, 400) == refusal
        assert await _disk_config(client, inherited["id"]) == "AUTO"
        rebuilt = await action(client, inherited["id"], "rebuild", {"imageRef": image})
        assert ok(rebuilt, 202)["server"]["OS-DCF:diskConfig"] == "MANUAL"
        await wait_status(client, inherited["id"], "ACTIVE")
        for uuid in (inherited["id"], manual["id"]):
            await client.delete(f"/v2.1/servers/{uuid}")


async def test_force_delete_deletes_and_missing_servers_are_404(
    compute_cloud: Cloud, image: str
) -> None:
    missing = "0d0e0f00-0000-4000-8000-000000000000"
    async with await admin_client(compute_cloud, LATEST) as admin:
        gone = await action(admin, missing, "forceDelete")
        assert fault(gone, 404, "itemNotFound") == f"Instance {missing} could not be found."
        fault(await action(admin, missing, "restore"), 404, "itemNotFound")
    await new_project(compute_cloud, "force-project")
    async with await member_client(
        compute_cloud, "force-member", LATEST, project="force-project"
    ) as member:
        uuid = await _active(member, image, "force-deleted")
        assert (await action(member, uuid, "lock")).status_code == 202
        assert fault(await action(member, uuid, "forceDelete"), 409) == f"Instance {uuid} is locked"
        assert (await action(member, uuid, "unlock")).status_code == 202
        assert (await action(member, uuid, "forceDelete")).status_code == 202
        await wait_gone(member, uuid)
        events = ok(await member.get(f"/v2.1/servers/{uuid}/os-instance-actions"))
        assert events["instanceActions"][0]["action"] == "delete"


async def test_ip_filter_is_a_substring_of_a_fixed_address(
    compute_cloud: Cloud, image: str
) -> None:
    """As Nova with Neutron's ip-substring-filtering: 10.30.0.2 also finds 10.30.0.21."""
    async with await network_admin(compute_cloud) as neutron:
        net, _ = await network_with_subnet(neutron, "ip-filter-net", "10.30.0.0/24")
    async with await admin_client(compute_cloud, LATEST) as client:
        uuids = {}
        for address in ("10.30.0.2", "10.30.0.21", "10.30.0.3"):
            networks = [{"uuid": net["id"], "fixed_ip": address}]
            uuids[address] = (await boot_ok(client, image, f"ip-{address}", networks=networks))[
                "id"
            ]
        for uuid in uuids.values():
            await wait_status(client, uuid, "ACTIVE")

        async def found(**params: str) -> set[str]:
            listed = ok(await client.get("/v2.1/servers", params=params))["servers"]
            detailed = ok(await client.get("/v2.1/servers/detail", params=params))["servers"]
            assert [s["id"] for s in listed] == [s["id"] for s in detailed]
            return {s["id"] for s in listed}

        assert await found(ip="10.30.0.3") == {uuids["10.30.0.3"]}
        assert await found(ip="10.30.0.2") == {uuids["10.30.0.2"], uuids["10.30.0.21"]}
        assert await found(ip="10.30.0.") == set(uuids.values())
        assert await found(ip="10.30.0.99") == set()
        assert await found(ip6="10.30.0.3") == {uuids["10.30.0.3"]}  # either version
        for bad in ("", "["):
            refused = await client.get("/v2.1/servers", params={"ip": bad})
            assert fault(refused, 400) == (
                f"Invalid input for query parameters ip. Value: {bad}. '{bad}' is not a 'regex'"
            )
        for uuid in uuids.values():
            await client.delete(f"/v2.1/servers/{uuid}")
