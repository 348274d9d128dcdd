"""/v3/roles, implied roles and /v3/role_inferences."""

from __future__ import annotations

import pytest

from tests.api.conftest import Cloud
from tests.api.identity_helpers import (
    PASSWORD,
    admin_creates,
    created,
    error,
    find_id,
    member,
    token_valid,
)


async def test_role_crud(cloud: Cloud) -> None:
    role = await admin_creates(
        cloud, "roles", name="auditor", description="Reads audit logs", color="grey"
    )
    url = f"/v3/roles/{role['id']}"
    async with await cloud.admin() as client:
        shown = await client.get(url)
        by_name = await client.get("/v3/roles", params={"name": "auditor"})
        everything = await client.get("/v3/roles")
        updated = await client.patch(url, json={"role": {"name": "inspector"}})
        deleted = await client.delete(url)
        gone = await client.get(url)
    assert role == {
        "id": role["id"],
        "name": "auditor",
        "domain_id": None,
        "description": "Reads audit logs",
        "options": {},
        "color": "grey",
        "links": {"self": f"http://nimbus.test{url}"},
    }
    assert shown.json()["role"] == role
    assert [r["id"] for r in by_name.json()["roles"]] == [role["id"]]
    assert {"admin", "member", "reader", "auditor"} <= {
        r["name"] for r in everything.json()["roles"]
    }
    assert updated.json()["role"]["name"] == "inspector"
    assert deleted.status_code == 204
    assert error(gone, 404) == f"Could not find role: {role['id']}."


async def test_domain_specific_roles(cloud: Cloud) -> None:
    role = await admin_creates(cloud, "roles", name="local", domain_id="default")
    async with await cloud.admin() as client:
        global_list = await client.get("/v3/roles", params={"name": "local"})
        domain_list = await client.get("/v3/roles", params={"domain_id": "default"})
        same_name_global = await client.post("/v3/roles", json={"role": {"name": "local"}})
        again = await client.post(
            "/v3/roles", json={"role": {"name": "local", "domain_id": "default"}}
        )
        move = await client.patch(f"/v3/roles/{role['id']}", json={"role": {"domain_id": None}})
        nowhere = await client.post("/v3/roles", json={"role": {"name": "x", "domain_id": "nope"}})
    assert role["domain_id"] == "default"
    assert global_list.json()["roles"] == []
    assert [r["id"] for r in domain_list.json()["roles"]] == [role["id"]]
    assert same_name_global.status_code == 201
    assert error(again, 409) == (
        "Conflict occurred attempting to store role - Duplicate entry found with name local "
        "at domain ID default."
    )
    assert error(move, 400) == "Update of `domain_id` is not allowed."
    assert error(nowhere, 404) == "Could not find domain: nope."


async def test_duplicate_global_role_is_409(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        response = await client.post("/v3/roles", json={"role": {"name": "admin"}})
    assert error(response, 409) == (
        "Conflict occurred attempting to store role - Duplicate entry found with name admin."
    )


@pytest.mark.parametrize(
    "body",
    [{"role": {}}, {"role": {"name": ""}}, {"role": {"name": " "}}, {"role": {"name": ["x"]}}],
)
async def test_bad_role_bodies_are_400(cloud: Cloud, body: object) -> None:
    async with await cloud.admin() as client:
        response = await client.post("/v3/roles", json=body)
    error(response, 400)


async def test_implied_roles(cloud: Cloud) -> None:
    prior = await admin_creates(cloud, "roles", name="lead")
    implied = await admin_creates(cloud, "roles", name="helper")
    url = f"/v3/roles/{prior['id']}/implies/{implied['id']}"
    async with await cloud.admin() as client:
        missing = await client.get(url)
        made = await client.put(url)
        again = await client.put(url)
        shown = await client.get(url)
        checked = await client.head(url)
        listed = await client.get(f"/v3/roles/{prior['id']}/implies")
        inferences = await client.get("/v3/role_inferences")
        deleted = await client.delete(url)
        after = await client.head(url)
    assert error(missing, 404) == f"{prior['id']} does not imply {implied['id']}."
    body = created(made, "role_inference")
    base = "http://nimbus.test/v3/roles"
    assert body == {
        "prior_role": {
            "id": prior["id"],
            "name": "lead",
            "links": {"self": f"{base}/{prior['id']}"},
        },
        "implies": {
            "id": implied["id"],
            "name": "helper",
            "links": {"self": f"{base}/{implied['id']}"},
        },
    }
    assert made.json()["links"] == {"self": f"http://nimbus.test{url}"}
    assert error(again, 409)
    assert shown.status_code == 200 and shown.json()["role_inference"] == body
    assert checked.status_code == 204
    listing = listed.json()["role_inference"]
    assert listing["prior_role"]["id"] == prior["id"]
    assert [r["id"] for r in listing["implies"]] == [implied["id"]]
    rules = {r["prior_role"]["name"]: r for r in inferences.json()["role_inferences"]}
    assert [r["name"] for r in rules["lead"]["implies"]] == ["helper"]
    assert [r["name"] for r in rules["admin"]["implies"]] == ["manager"]
    assert [r["name"] for r in rules["manager"]["implies"]] == ["member"]
    assert deleted.status_code == 204 and after.status_code == 404


async def test_forbidden_implications(cloud: Cloud) -> None:
    prior = await admin_creates(cloud, "roles", name="boss")
    local = await admin_creates(cloud, "roles", name="boss-local", domain_id="default")
    async with await cloud.admin() as client:
        admin_id = await find_id(client, "roles", "admin")
        to_admin = await client.put(f"/v3/roles/{prior['id']}/implies/{admin_id}")
        to_local = await client.put(f"/v3/roles/{prior['id']}/implies/{local['id']}")
        no_role = await client.put(f"/v3/roles/{prior['id']}/implies/nope")
        no_prior = await client.get("/v3/roles/nope/implies")
    assert error(to_admin, 403) == f"{admin_id} cannot be an implied roles."
    error(to_local, 403)
    assert error(no_role, 404) == "Could not find role: nope."
    assert error(no_prior, 404) == "Could not find role: nope."


async def test_deleting_a_role_removes_its_grants_and_revokes_tokens(cloud: Cloud) -> None:
    role = await admin_creates(cloud, "roles", name="temporary")
    user = await cloud.make_user("temp-holder", password=PASSWORD, role="temporary")
    token = await cloud.token("temp-holder", PASSWORD)
    assert await token_valid(cloud, token)
    async with await cloud.admin() as client:
        assert (await client.delete(f"/v3/roles/{role['id']}")).status_code == 204
        left = await client.get("/v3/role_assignments", params={"user.id": user["id"]})
    assert left.json()["role_assignments"] == []
    assert not await token_valid(cloud, token)


async def test_project_member_may_not_manage_roles(cloud: Cloud) -> None:
    async with await cloud.admin() as admin:
        admin_id = await find_id(admin, "roles", "admin")
    async with await member(cloud, "role-member") as client:
        listing = await client.get("/v3/roles")
        create = await client.post("/v3/roles", json={"role": {"name": "mine"}})
        shown = await client.get(f"/v3/roles/{admin_id}")
        delete = await client.delete(f"/v3/roles/{admin_id}")
        inferences = await client.get("/v3/role_inferences")
    assert error(listing, 403).endswith("identity:list_roles.")
    assert error(create, 403).endswith("identity:create_role.")
    assert error(shown, 403).endswith("identity:get_role.")
    assert error(delete, 403).endswith("identity:delete_role.")
    assert error(inferences, 403).endswith("identity:list_role_inference_rules.")
