"""Server groups: shapes per microversion, rules, members, projects, policy, quota."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from nimbus.db.models.cell import Instance
from nimbus.db.models.compute import ServerGroup, ServerGroupMember
from tests.api.compute_helpers import (
    admin_client,
    compute_client,
    fault,
    member_client,
    new_project,
    ok,
)
from tests.api.conftest import Cloud


async def test_shapes_by_microversion(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        body = {"server_group": {"name": "old-style", "policies": ["anti-affinity"]}}
        group = ok(await client.post("/v2.1/os-server-groups", json=body))["server_group"]
        assert set(group) == {"id", "name", "policies", "members", "metadata"}
        assert (
            group["policies"] == ["anti-affinity"]
            and group["metadata"] == {}
            and group["members"] == []
        )
    async with await admin_client(cloud, "2.13") as client:
        shown = ok(await client.get(f"/v2.1/os-server-groups/{group['id']}"))["server_group"]
        assert {"project_id", "user_id"} <= set(shown)
    async with await admin_client(cloud, "2.64") as client:
        shown = ok(await client.get(f"/v2.1/os-server-groups/{group['id']}"))["server_group"]
        assert shown["policy"] == "anti-affinity" and shown["rules"] == {}
        assert "policies" not in shown and "metadata" not in shown
        body = {
            "server_group": {
                "name": "spread",
                "policy": "anti-affinity",
                "rules": {"max_server_per_host": "2"},
            }
        }
        created = ok(await client.post("/v2.1/os-server-groups", json=body))["server_group"]
        assert created["rules"] == {"max_server_per_host": 2}
        assert (await client.delete(f"/v2.1/os-server-groups/{created['id']}")).status_code == 204
        assert (await client.delete(f"/v2.1/os-server-groups/{group['id']}")).status_code == 204
        message = fault(
            await client.get(f"/v2.1/os-server-groups/{group['id']}"), 404, "itemNotFound"
        )
        assert message == f"Instance group {group['id']} could not be found."


async def test_bad_bodies(cloud: Cloud) -> None:
    cases = {
        "2.1": [
            {"server_group": {"name": "g", "policies": ["soft-affinity"]}},
            {"server_group": {"name": "g", "policies": ["affinity", "anti-affinity"]}},
            {"server_group": {"name": "g", "policies": []}},
            {"server_group": {"name": "g"}},
            {"server_group": {"name": " g", "policies": ["affinity"]}},
            {"server_group": {"name": "g", "policies": ["affinity"], "policy": "affinity"}},
        ],
        "2.64": [
            {"server_group": {"name": "g", "policies": ["affinity"]}},
            {
                "server_group": {
                    "name": "g",
                    "policy": "affinity",
                    "rules": {"max_server_per_host": 2},
                }
            },
            {
                "server_group": {
                    "name": "g",
                    "policy": "anti-affinity",
                    "rules": {"max_server_per_host": 0},
                }
            },
            {"server_group": {"name": "g", "policy": "anti-affinity", "rules": {"other": 1}}},
            {"server_group": {"name": "g", "policy": "clumped"}},
        ],
    }
    for version, bodies in cases.items():
        async with await admin_client(cloud, version) as client:
            for body in bodies:
                fault(await client.post("/v2.1/os-server-groups", json=body), 400, "badRequest")
    async with await admin_client(cloud, "2.64") as client:
        body = {
            "server_group": {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}
        }
        assert (
            fault(await client.post("/v2.1/os-server-groups", json=body), 400)
            == "Only anti-affinity policy supports rules."
        )
    async with await admin_client(cloud, "2.15") as client:
        body = {"server_group": {"name": "soft", "policies": ["soft-affinity"]}}
        group = ok(await client.post("/v2.1/os-server-groups", json=body))["server_group"]
        assert (await client.delete(f"/v2.1/os-server-groups/{group['id']}")).status_code == 204


async def test_members_are_the_live_servers(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.64") as client:
        body = {"server_group": {"name": "with-members", "policy": "affinity"}}
        group = ok(await client.post("/v2.1/os-server-groups", json=body))["server_group"]
        live, gone, building = (str(uuid.uuid4()) for _ in range(3))
        async with cloud.process.db.transaction() as session:
            row = await session.scalar(select(ServerGroup).where(ServerGroup.uuid == group["id"]))
            for server, deleted in ((live, 0), (gone, 1)):
                session.add(
                    Instance(
                        uuid=server, project_id="p", user_id="u", display_name="s", deleted=deleted
                    )
                )
            for server in (live, gone, building):
                session.add(ServerGroupMember(group_id=row.id, instance_uuid=server))
        shown = ok(await client.get(f"/v2.1/os-server-groups/{group['id']}"))["server_group"]
        assert sorted(shown["members"]) == sorted([live, building])
        listed = ok(await client.get("/v2.1/os-server-groups"))["server_groups"]
        assert sorted(next(g for g in listed if g["id"] == group["id"])["members"]) == sorted(
            [live, building]
        )


async def test_projects_see_only_their_groups(cloud: Cloud) -> None:
    await new_project(cloud, "group-owners")
    await new_project(cloud, "group-strangers")
    body = {"server_group": {"name": "private-group", "policies": ["affinity"]}}
    async with await member_client(cloud, "group-owner", project="group-owners") as owner:
        group = ok(await owner.post("/v2.1/os-server-groups", json=body))["server_group"]
        assert [
            g["id"]
            for g in ok(await owner.get("/v2.1/os-server-groups", params={"all_projects": "1"}))[
                "server_groups"
            ]
        ] == [group["id"]]
    async with await member_client(cloud, "group-stranger", project="group-strangers") as stranger:
        fault(await stranger.get(f"/v2.1/os-server-groups/{group['id']}"), 404)
        fault(await stranger.delete(f"/v2.1/os-server-groups/{group['id']}"), 404)
        assert ok(await stranger.get("/v2.1/os-server-groups"))["server_groups"] == []
    async with await admin_client(cloud) as admin:
        own = ok(await admin.get("/v2.1/os-server-groups"))["server_groups"]
        assert group["id"] not in {g["id"] for g in own}
        everyone = ok(await admin.get("/v2.1/os-server-groups", params={"all_projects": "True"}))[
            "server_groups"
        ]
        assert group["id"] in {g["id"] for g in everyone}
        ok(await admin.get(f"/v2.1/os-server-groups/{group['id']}"))
        page = ok(
            await admin.get(
                "/v2.1/os-server-groups", params={"all_projects": "1", "limit": 1, "offset": 0}
            )
        )
        assert len(page["server_groups"]) == 1


async def test_readers_may_look_but_not_create(cloud: Cloud) -> None:
    await cloud.make_user("group-reader", role="reader", password="secret-pw")
    async with await compute_client(cloud, user="group-reader") as reader:
        ok(await reader.get("/v2.1/os-server-groups"))
        body = {"server_group": {"name": "nope", "policies": ["affinity"]}}
        message = fault(await reader.post("/v2.1/os-server-groups", json=body), 403, "forbidden")
        assert (
            message
            == "Policy doesn't allow os_compute_api:os-server-groups:create to be performed."
        )
