"""/v3/groups, group membership and /v3/users/{id}/groups."""

from __future__ import annotations

import pytest

from tests.api.conftest import Cloud
from tests.api.identity_helpers import (
    PASSWORD,
    admin_creates,
    error,
    member,
    token_valid,
    whoami,
)


async def test_group_crud(cloud: Cloud) -> None:
    group = await admin_creates(
        cloud, "groups", name="ops", description="Operators", mail="ops@x.test"
    )
    url = f"/v3/groups/{group['id']}"
    async with await cloud.admin() as client:
        shown = await client.get(url)
        by_name = await client.get("/v3/groups", params={"name": "ops"})
        by_domain = await client.get("/v3/groups", params={"domain_id": "nowhere"})
        updated = await client.patch(url, json={"group": {"name": "operators", "mail": None}})
        deleted = await client.delete(url)
        gone = await client.get(url)
    assert group == {
        "id": group["id"],
        "name": "ops",
        "domain_id": "default",
        "description": "Operators",
        "mail": "ops@x.test",
        "links": {"self": f"http://nimbus.test{url}"},
    }
    assert shown.json()["group"] == group
    assert [g["id"] for g in by_name.json()["groups"]] == [group["id"]]
    assert by_domain.json()["groups"] == []
    assert updated.status_code == 200
    assert updated.json()["group"]["name"] == "operators"
    assert updated.json()["group"]["mail"] is None
    assert deleted.status_code == 204
    assert error(gone, 404) == f"Could not find group: {group['id']}."


async def test_duplicate_group_is_409_and_domain_is_checked(cloud: Cloud) -> None:
    await admin_creates(cloud, "groups", name="dup")
    async with await cloud.admin() as client:
        again = await client.post("/v3/groups", json={"group": {"name": "dup"}})
        nowhere = await client.post("/v3/groups", json={"group": {"name": "x", "domain_id": "no"}})
    assert error(again, 409) == (
        "Conflict occurred attempting to store group - Duplicate entry found with name dup "
        "at domain ID default."
    )
    assert error(nowhere, 404) == "Could not find domain: no."


@pytest.mark.parametrize(
    "body",
    [{"group": {}}, {"group": {"name": ""}}, {"group": {"name": 1}}, {"groups": {"name": "x"}}],
)
async def test_bad_group_bodies_are_400(cloud: Cloud, body: object) -> None:
    async with await cloud.admin() as client:
        response = await client.post("/v3/groups", json=body)
    error(response, 400)


async def test_group_domain_cannot_change(cloud: Cloud) -> None:
    group = await admin_creates(cloud, "groups", name="stay")
    async with await cloud.admin() as client:
        response = await client.patch(
            f"/v3/groups/{group['id']}", json={"group": {"domain_id": "elsewhere"}}
        )
        empty = await client.patch(f"/v3/groups/{group['id']}", json={"group": {}})
    error(response, 400)
    error(empty, 400)


async def test_membership(cloud: Cloud) -> None:
    group = await admin_creates(cloud, "groups", name="devs")
    user = await cloud.make_user("dana", password=PASSWORD)
    url = f"/v3/groups/{group['id']}/users/{user['id']}"
    async with await cloud.admin() as client:
        before = await client.head(url)
        before_get = await client.get(url)
        added = await client.put(url)
        added_again = await client.put(url)
        checked = await client.head(url)
        members = await client.get(f"/v3/groups/{group['id']}/users")
        of_user = await client.get(f"/v3/users/{user['id']}/groups")
        removed = await client.delete(url)
        removed_again = await client.delete(url)
        after = await client.get(f"/v3/groups/{group['id']}/users")
    assert before.status_code == 404
    assert error(before_get, 404) == f"User '{user['id']}' not found in group '{group['id']}'"
    assert added.status_code == added_again.status_code == 204
    assert checked.status_code == 204
    assert [u["name"] for u in members.json()["users"]] == ["dana"]
    (listed,) = of_user.json()["groups"]
    assert listed["id"] == group["id"] and listed["membership_expires_at"] is None
    assert removed.status_code == 204
    error(removed_again, 404)
    assert after.json()["users"] == []


async def test_membership_of_missing_user_or_group_is_404(cloud: Cloud) -> None:
    group = await admin_creates(cloud, "groups", name="lonely")
    async with await cloud.admin() as client:
        no_user = await client.put(f"/v3/groups/{group['id']}/users/nobody")
        no_group = await client.put("/v3/groups/nogroup/users/nobody")
        no_members = await client.get("/v3/groups/nogroup/users")
        no_user_groups = await client.get("/v3/users/nobody/groups")
    assert error(no_user, 404) == "Could not find user: nobody."
    assert error(no_group, 404) == "Could not find group: nogroup."
    error(no_members, 404)
    error(no_user_groups, 404)


async def test_leaving_a_group_revokes_the_users_tokens(cloud: Cloud) -> None:
    group = await admin_creates(cloud, "groups", name="leavers")
    async with await member(cloud, "leaver") as client:
        token = client.headers["X-Auth-Token"]
        url = f"/v3/groups/{group['id']}/users/{await whoami(client)}"
    async with await cloud.admin() as client:
        assert (await client.put(url)).status_code == 204
        assert await token_valid(cloud, token)
        assert (await client.delete(url)).status_code == 204
    assert not await token_valid(cloud, token)


async def test_deleting_a_group_with_roles_revokes_member_tokens(cloud: Cloud) -> None:
    group = await admin_creates(cloud, "groups", name="with-roles")
    await cloud.make_user("grouped", password=PASSWORD, role=None)
    async with await cloud.admin() as client:
        (user,) = (await client.get("/v3/users", params={"name": "grouped"})).json()["users"]
        (project,) = (await client.get("/v3/projects", params={"name": "admin"})).json()["projects"]
        (role,) = (await client.get("/v3/roles", params={"name": "member"})).json()["roles"]
        await client.put(f"/v3/groups/{group['id']}/users/{user['id']}")
        grant = await client.put(
            f"/v3/projects/{project['id']}/groups/{group['id']}/roles/{role['id']}"
        )
        assert grant.status_code == 204
    token = await cloud.token("grouped", PASSWORD)
    assert await token_valid(cloud, token)
    async with await cloud.admin() as client:
        assert (await client.delete(f"/v3/groups/{group['id']}")).status_code == 204
        assignments = await client.get("/v3/role_assignments", params={"group.id": group["id"]})
    assert not await token_valid(cloud, token)
    assert assignments.json()["role_assignments"] == []


async def test_project_member_may_not_manage_groups(cloud: Cloud) -> None:
    group = await admin_creates(cloud, "groups", name="guarded")
    async with await member(cloud, "group-member") as client:
        listing = await client.get("/v3/groups")
        create = await client.post("/v3/groups", json={"group": {"name": "mine"}})
        shown = await client.get(f"/v3/groups/{group['id']}")
        delete = await client.delete(f"/v3/groups/{group['id']}")
        me = await whoami(client)
        join = await client.put(f"/v3/groups/{group['id']}/users/{me}")
        own_groups = await client.get(f"/v3/users/{me}/groups")
    assert error(listing, 403).endswith("identity:list_groups.")
    assert error(create, 403).endswith("identity:create_group.")
    error(shown, 403)
    error(delete, 403)
    assert error(join, 403).endswith("identity:add_user_to_group.")
    # Anyone may list their own groups.
    assert own_groups.status_code == 200 and own_groups.json()["groups"] == []
