"""Quota sets, quota classes, limits, and the quota engine's checks (usage counted
from rows)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from nimbus.compute import quotas
from nimbus.db.engine import Database
from nimbus.db.models.cell import Instance, InstanceAction
from nimbus.db.models.compute import InstanceMapping, RequestSpec, ServerGroup, ServerGroupMember
from nimbus.placement import work
from tests.api.compute_helpers import (
    add_instance,
    admin_client,
    compute_client,
    fault,
    member_client,
    new_project,
    ok,
)
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, active_image, boot, boot_ok
from tests.api.test_compute_keypairs import ssh_public_key

LEGACY = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}
PERSONALITY = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}


async def test_show_defaults_and_shapes(cloud: Cloud) -> None:
    project = await new_project(cloud, "quota-shapes")
    async with await admin_client(cloud) as client:
        shown = ok(await client.get(f"/v2.1/os-quota-sets/{project}"))["quota_set"]
        assert shown == {
            "id": project,
            "instances": 10,
            "cores": 20,
            "ram": 51200,
            "metadata_items": 128,
            "injected_files": 5,
            "injected_file_content_bytes": 10240,
            "injected_file_path_bytes": 255,
            "key_pairs": 100,
            "server_groups": 10,
            "server_group_members": 10,
            "fixed_ips": -1,
            "floating_ips": -1,
            "security_groups": -1,
            "security_group_rules": -1,
        }
        assert ok(await client.get(f"/v2.1/os-quota-sets/{project}/defaults"))["quota_set"] == shown
        message = fault(await client.get("/v2.1/os-quota-sets/no-such-project"), 400, "badRequest")
        assert message == "Project ID no-such-project is not a valid project."
    async with await admin_client(cloud, "2.36") as client:
        shown = ok(await client.get(f"/v2.1/os-quota-sets/{project}"))["quota_set"]
        assert not LEGACY & set(shown) and set(shown) >= PERSONALITY
    async with await admin_client(cloud, "2.57") as client:
        shown = ok(await client.get(f"/v2.1/os-quota-sets/{project}"))["quota_set"]
        assert not (LEGACY | PERSONALITY) & set(shown)
        assert set(shown) == {
            "id",
            "instances",
            "cores",
            "ram",
            "metadata_items",
            "key_pairs",
            "server_groups",
            "server_group_members",
        }


async def test_update_detail_and_delete(cloud: Cloud) -> None:
    project = await new_project(cloud, "quota-update")
    for _ in range(2):
        await add_instance(cloud, project, vcpus=2, memory_mb=1024)
    await add_instance(cloud, project, vcpus=8, memory_mb=8192, deleted=1)
    async with await admin_client(cloud, "2.57") as client:
        path = f"/v2.1/os-quota-sets/{project}"
        detail = ok(await client.get(f"{path}/detail"))["quota_set"]
        assert detail["cores"] == {"in_use": 4, "limit": 20, "reserved": 0}
        assert detail["instances"]["in_use"] == 2 and detail["ram"]["in_use"] == 2048
        updated = ok(await client.put(path, json={"quota_set": {"cores": 30, "instances": "12"}}))[
            "quota_set"
        ]
        assert "id" not in updated and (updated["cores"], updated["instances"]) == (30, 12)
        message = fault(await client.put(path, json={"quota_set": {"cores": 3}}), 400)
        assert (
            message == "Quota limit 3 for cores must be greater than or equal to "
            "already used and reserved 4."
        )
        forced = ok(await client.put(path, json={"quota_set": {"cores": 3, "force": True}}))[
            "quota_set"
        ]
        assert forced["cores"] == 3
        for bad in (
            {"cores": -2},
            {"cores": "many"},
            {"injected_files": 1},
            {"colour": 1},
            {"cores": 2**31},
        ):
            fault(await client.put(path, json={"quota_set": bad}), 400)
        assert (await client.delete(path)).status_code == 202
        assert ok(await client.get(path))["quota_set"]["cores"] == 20


async def test_user_quotas(cloud: Cloud) -> None:
    project = await new_project(cloud, "quota-users")
    await cloud.make_user("quota-user", project="quota-users", password="secret-pw")
    async with await compute_client(
        cloud, "2.57", user="quota-user", project="quota-users"
    ) as member:
        me = ok(await member.get("/v2.1/os-keypairs"))  # any call: the user exists
        assert me == {"keypairs": []}
    async with await cloud.admin() as identity:
        user_id = (await identity.get("/v3/users", params={"name": "quota-user"})).json()["users"][
            0
        ]["id"]
    async with await admin_client(cloud, "2.57") as client:
        path = f"/v2.1/os-quota-sets/{project}"
        ok(
            await client.put(
                path, params={"user_id": user_id}, json={"quota_set": {"key_pairs": 1}}
            )
        )
        assert (
            ok(await client.get(path, params={"user_id": user_id}))["quota_set"]["key_pairs"] == 1
        )
        assert ok(await client.get(path))["quota_set"]["key_pairs"] == 100
        message = fault(
            await client.put(path, params={"user_id": user_id}, json={"quota_set": {"cores": 21}}),
            400,
        )
        assert message == "Quota limit 21 for cores must be less than or equal to 20."
    async with await compute_client(
        cloud, "2.57", user="quota-user", project="quota-users"
    ) as member:
        public, _ = ssh_public_key()
        ok(
            await member.post(
                "/v2.1/os-keypairs", json={"keypair": {"name": "first", "public_key": public}}
            ),
            201,
        )
        response = await member.post(
            "/v2.1/os-keypairs", json={"keypair": {"name": "second", "public_key": public}}
        )
        assert fault(response, 403, "forbidden") == "Quota exceeded, too many key pairs."
        # a member may read its project's quotas, not change them
        ok(await member.get(f"/v2.1/os-quota-sets/{project}"))
        fault(
            await member.put(f"/v2.1/os-quota-sets/{project}", json={"quota_set": {"cores": 1}}),
            403,
        )
    async with await admin_client(cloud) as client:
        assert (
            await client.delete(f"/v2.1/os-quota-sets/{project}", params={"user_id": user_id})
        ).status_code == 202
        assert (
            ok(await client.get(f"/v2.1/os-quota-sets/{project}", params={"user_id": user_id}))[
                "quota_set"
            ]["key_pairs"]
            == 100
        )


async def test_other_projects_quotas_are_forbidden(cloud: Cloud) -> None:
    other = await new_project(cloud, "quota-other")
    async with await member_client(cloud, "quota-snoop") as member:
        message = fault(await member.get(f"/v2.1/os-quota-sets/{other}"), 403)
        assert message == "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed."
        ok(await member.get(f"/v2.1/os-quota-sets/{other}/defaults"))
        fault(await member.get("/v2.1/os-quota-class-sets/default"), 403)
        fault(await member.get("/v2.1/limits", params={"tenant_id": other}), 403)


async def test_quota_classes(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        shown = ok(await client.get("/v2.1/os-quota-class-sets/default"))["quota_class_set"]
        assert shown["id"] == "default" and "server_groups" not in shown and "floating_ips" in shown
    async with await admin_client(cloud, "2.50") as client:
        shown = ok(await client.get("/v2.1/os-quota-class-sets/default"))["quota_class_set"]
        assert (
            "server_groups" in shown and "floating_ips" not in shown and "injected_files" in shown
        )
        fault(
            await client.put(
                "/v2.1/os-quota-class-sets/default", json={"quota_class_set": {"floating_ips": 1}}
            ),
            400,
        )
    async with await admin_client(cloud, "2.57") as client:
        updated = ok(
            await client.put(
                "/v2.1/os-quota-class-sets/gold", json={"quota_class_set": {"cores": 64}}
            )
        )["quota_class_set"]
        assert updated["cores"] == 64 and "id" not in updated and "injected_files" not in updated
        assert (
            ok(await client.get("/v2.1/os-quota-class-sets/default"))["quota_class_set"]["cores"]
            == 20
        )


async def test_limits(cloud: Cloud) -> None:
    project = await new_project(cloud, "limits-project")
    await add_instance(cloud, project, vcpus=3, memory_mb=2048)
    async with await admin_client(cloud) as client:
        absolute = ok(await client.get("/v2.1/limits", params={"tenant_id": project}))["limits"][
            "absolute"
        ]
        assert absolute == {
            "maxImageMeta": 128,
            "maxPersonality": 5,
            "maxPersonalitySize": 10240,
            "maxSecurityGroupRules": -1,
            "maxSecurityGroups": -1,
            "maxServerMeta": 128,
            "maxTotalCores": 20,
            "maxTotalFloatingIps": -1,
            "maxTotalInstances": 10,
            "maxTotalKeypairs": 100,
            "maxTotalRAMSize": 51200,
            "maxServerGroups": 10,
            "maxServerGroupMembers": 10,
            "totalCoresUsed": 3,
            "totalInstancesUsed": 1,
            "totalRAMUsed": 2048,
            "totalSecurityGroupsUsed": 0,
            "totalFloatingIpsUsed": 0,
            "totalServerGroupsUsed": 0,
        }
        assert ok(await client.get("/v2.1/limits"))["limits"]["rate"] == []
    async with await admin_client(cloud, "2.36") as client:
        absolute = ok(await client.get("/v2.1/limits"))["limits"]["absolute"]
        assert "maxSecurityGroups" not in absolute and "totalFloatingIpsUsed" not in absolute
        assert "maxImageMeta" in absolute
    async with await admin_client(cloud, "2.39") as client:
        assert "maxImageMeta" not in ok(await client.get("/v2.1/limits"))["limits"]["absolute"]
    async with await admin_client(cloud, "2.57") as client:
        absolute = ok(await client.get("/v2.1/limits"))["limits"]["absolute"]
        assert "maxPersonality" not in absolute and "maxPersonalitySize" not in absolute
    async with await member_client(cloud, "limits-member") as member:
        ok(await member.get("/v2.1/limits"))


async def instances_that_fit(
    db: Database, project: str, *, min_count: int, max_count: int
) -> tuple[int, bool]:
    """`quotas.check_instances_in` for a boot of 1-vCPU, 1-MB servers by user "u"."""

    def check(connection: Connection) -> tuple[int, bool]:
        return quotas.check_instances_in(
            connection, project, "u", vcpus=1, memory_mb=1, min_count=min_count, max_count=max_count
        )

    return await work.read(db, check)


async def test_engine_checks_count_rows(cloud: Cloud) -> None:
    project = await new_project(cloud, "quota-engine")
    for _ in range(9):
        await add_instance(cloud, project, vcpus=2, memory_mb=512)
    db = cloud.process.db
    async with db.reader() as session:
        await quotas.check(session, project, "u", instances=1, cores=2, ram=512)
        with pytest.raises(quotas.OverQuota) as caught:
            await quotas.check(session, project, "u", instances=1, cores=4, ram=512)
        assert caught.value.code == 403
        assert (
            str(caught.value)
            == "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores"
        )
        with pytest.raises(quotas.OverQuota) as caught:
            await quotas.check(session, project, "u", instances=2, cores=4, ram=1024)
        assert str(caught.value) == (
            "Quota exceeded for cores, instances: Requested 4, 2, "
            "but already used 18, 9 of 20, 10 cores, instances"
        )
        assert await instances_that_fit(db, project, min_count=1, max_count=5) == (1, True)
        with pytest.raises(quotas.OverQuota) as caught:
            await instances_that_fit(db, project, min_count=2, max_count=4)
        assert (
            str(caught.value) == "Quota exceeded for cores, instances: Requested 4, 2-4, "
            "but already used 18, 9 of 20, 10 cores, instances"
        )
        await quotas.check(session, project, "u", cores=-10)  # shrinking never fails
        with pytest.raises(quotas.OverQuota, match="Maximum number of metadata items exceeds 128"):
            await quotas.check(session, project, "u", metadata_items=129)
    async with db.transaction() as session:
        group = ServerGroup(name="g", project_id=project, user_id="u", policy="affinity", rules={})
        session.add(group)
        await session.flush()
        for n in range(10):
            session.add(ServerGroupMember(group_id=group.id, instance_uuid=f"member-{n}"))
    async with db.reader() as session:
        with pytest.raises(quotas.OverQuota, match="Quota exceeded, too many servers in group"):
            await quotas.check(
                session, project, "u", server_group=group.uuid, server_group_members=1
            )
        assert (await quotas.usage(session, project))["server_groups"] == 1


async def test_server_group_quota(cloud: Cloud) -> None:
    project = await new_project(cloud, "quota-groups")
    async with await admin_client(cloud) as client:
        ok(
            await client.put(
                f"/v2.1/os-quota-sets/{project}", json={"quota_set": {"server_groups": 1}}
            )
        )
    async with await member_client(cloud, "group-quota", project="quota-groups") as member:
        body = {"server_group": {"name": "one", "policies": ["affinity"]}}
        ok(await member.post("/v2.1/os-server-groups", json=body))
        message = fault(await member.post("/v2.1/os-server-groups", json=body), 403)
        assert message == "Quota exceeded, too many server groups."


async def _instance_quota(cloud: Cloud, name: str, instances: int) -> str:
    """A new project whose instance limit is `instances`; its id."""
    project = await new_project(cloud, name)
    async with await admin_client(cloud) as admin:
        body = {"quota_set": {"instances": instances}}
        ok(await admin.put(f"/v2.1/os-quota-sets/{project}", json=body))
    return project


async def _rows_of(cloud: Cloud, project: str) -> dict[str, int]:
    """How many rows of each kind a boot writes the project has (live or not)."""
    tables = {
        "instance": Instance,
        "mapping": InstanceMapping,
        "action": InstanceAction,
    }
    async with cloud.process.db.reader() as session:
        counts = {
            name: int(
                await session.scalar(
                    select(func.count()).select_from(model).where(model.project_id == project)
                )
                or 0
            )
            for name, model in tables.items()
        }
        counts["request_spec"] = int(
            await session.scalar(
                select(func.count())
                .select_from(RequestSpec)
                .join(InstanceMapping, InstanceMapping.instance_uuid == RequestSpec.instance_uuid)
                .where(InstanceMapping.project_id == project)
            )
            or 0
        )
    return counts


@pytest.mark.parametrize("threaded", [True, False], ids=["one-writer", "async-driver"])
async def test_concurrent_boots_cannot_exceed_the_limit(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, threaded: bool
) -> None:
    """Eight boots at once against room for three: the limit holds whichever way the
    transactions interleave (atomic on the one-writer SQLite path; through the async
    driver, whose SQLite transactions take the write lock only at their first write,
    the recheck after the commit takes back what went over, possibly more)."""
    monkeypatch.setattr(work, "THREADED", threaded)
    name = f"quota-race-{'threaded' if threaded else 'async'}"
    project = await _instance_quota(cloud, name, 3)
    image = await active_image(cloud, f"{name}-image")
    async with await member_client(cloud, f"{name}-user", LATEST, project=name) as client:
        responses = await asyncio.gather(*(boot(client, image, f"racer-{n}") for n in range(8)))
        accepted = [r for r in responses if r.status_code == 202]
        for refused in (r for r in responses if r.status_code != 202):
            assert fault(refused, 403, "forbidden").startswith("Quota exceeded for instances")
        listed = ok(await client.get("/v2.1/servers"))["servers"]
    assert len(accepted) <= 3
    if threaded:
        assert len(accepted) == 3  # checks and writes are serialised: no boot refused needlessly
    assert sorted(s["id"] for s in listed) == sorted(r.json()["server"]["id"] for r in accepted)
    assert set((await _rows_of(cloud, project)).values()) == {len(accepted)}


async def test_recheck_takes_back_a_boot_that_went_over(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A boot whose check raced a concurrent one (simulated: the check sees room that
    is gone) is refused by the recheck with the check's message, and leaves no row."""
    project = await _instance_quota(cloud, "quota-recheck", 1)
    image = await active_image(cloud, "quota-recheck-image")
    async with await member_client(
        cloud, "quota-recheck-user", LATEST, project="quota-recheck"
    ) as client:
        first = (await boot_ok(client, image, "first"))["id"]

        def stale(connection: Connection, *args: Any, **kwargs: Any) -> tuple[int, bool]:
            return kwargs["max_count"], True

        monkeypatch.setattr(quotas, "check_instances_in", stale)
        response = await boot(client, image, "late")
        assert fault(response, 403, "forbidden") == (
            "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
        )
        assert [s["id"] for s in ok(await client.get("/v2.1/servers"))["servers"]] == [first]
    assert await _rows_of(cloud, project) == {
        "instance": 1,
        "mapping": 1,
        "action": 1,
        "request_spec": 1,
    }
