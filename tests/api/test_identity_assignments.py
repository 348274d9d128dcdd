"""Role grants on projects, domains and the system (plus OS-INHERIT), and
GET /v3/role_assignments in direct and effective mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.conftest import Cloud
from tests.api.identity_helpers import PASSWORD, created, error, find_id, member, token_valid

BASE = "http://nimbus.test/v3"


@dataclass
class World:
    """A domain with a project tree (root → child → leaf), users, a group and roles."""

    domain: str
    root: str
    child: str
    leaf: str
    alice: str
    bob: str
    team: str
    admin: str
    manager: str
    member: str
    reader: str


async def _post(client: httpx.AsyncClient, path: str, key: str, **fields: Any) -> str:
    return created(await client.post(path, json={key: fields}), key)["id"]


@pytest.fixture(scope="module")
async def world(cloud: Cloud) -> World:
    async with await cloud.admin() as client:
        domain = await _post(client, "/v3/domains", "domain", name="acme")
        root = await _post(client, "/v3/projects", "project", name="root", domain_id=domain)
        child = await _post(
            client, "/v3/projects", "project", name="child", parent_id=root, domain_id=domain
        )
        leaf = await _post(
            client, "/v3/projects", "project", name="leaf", parent_id=child, domain_id=domain
        )
        alice = await _post(client, "/v3/users", "user", name="alice", password=PASSWORD)
        bob = await _post(client, "/v3/users", "user", name="bob", password=PASSWORD)
        team = await _post(client, "/v3/groups", "group", name="team")
        assert (await client.put(f"/v3/groups/{team}/users/{bob}")).status_code == 204
        roles = {
            name: await find_id(client, "roles", name)
            for name in ("admin", "manager", "member", "reader")
        }
    return World(domain, root, child, leaf, alice, bob, team, **roles)


def _url(world: World, target: str, actor: str, inherited: bool) -> str:
    """The grant collection URL for `actor` ("users"/"groups") on `target`."""
    actor_id = world.alice if actor == "users" else world.team
    target_path = {"projects": f"projects/{world.child}", "domains": f"domains/{world.domain}"}
    path = f"/{target_path.get(target, 'system')}/{actor}/{actor_id}/roles"
    return f"/v3/OS-INHERIT{path}" if inherited else f"/v3{path}"


@pytest.mark.parametrize(
    ("target", "actor", "inherited"),
    [
        ("projects", "users", False),
        ("projects", "groups", False),
        ("domains", "users", False),
        ("domains", "groups", False),
        ("system", "users", False),
        ("system", "groups", False),
        ("domains", "users", True),
        ("domains", "groups", True),
        ("projects", "users", True),
        ("projects", "groups", True),
    ],
)
async def test_grant_lifecycle(
    cloud: Cloud, world: World, target: str, actor: str, inherited: bool
) -> None:
    collection = _url(world, target, actor, inherited)
    suffix = "/inherited_to_projects" if inherited else ""
    url = f"{collection}/{world.reader}{suffix}"
    async with await cloud.admin() as client:
        before = await client.head(url)
        granted = await client.put(url)
        again = await client.put(url)
        checked = await client.head(url)
        got = await client.get(url)
        listed = await client.get(f"{collection}{suffix}")
        revoked = await client.delete(url)
        after = await client.get(url)
        revoked_again = await client.delete(url)
    assert before.status_code == 404
    assert granted.status_code == again.status_code == 204
    assert checked.status_code == got.status_code == 204 and got.content == b""
    if target != "projects" or not inherited:  # upstream has no listing for that one
        assert listed.status_code == 200
        assert [r["name"] for r in listed.json()["roles"]] == ["reader"]
        assert listed.json()["links"]["self"] == f"http://nimbus.test{collection}{suffix}"
    assert revoked.status_code == 204
    assert error(after, 404).startswith(f"Could not find role assignment with role: {world.reader}")
    error(revoked_again, 404)


async def test_missing_role_actor_or_target_is_404(cloud: Cloud, world: World) -> None:
    async with await cloud.admin() as client:
        cases = {
            f"/v3/projects/{world.root}/users/{world.alice}/roles/nope": "role: nope",
            f"/v3/projects/{world.root}/users/nope/roles/{world.reader}": "user: nope",
            f"/v3/projects/{world.root}/groups/nope/roles/{world.reader}": "group: nope",
            f"/v3/projects/nope/users/{world.alice}/roles/{world.reader}": "project: nope",
            f"/v3/domains/nope/users/{world.alice}/roles/{world.reader}": "domain: nope",
            f"/v3/system/users/nope/roles/{world.reader}": "user: nope",
        }
        for url, missing in cases.items():
            assert error(await client.put(url), 404) == f"Could not find {missing}.", url
        listing = await client.get(f"/v3/projects/nope/users/{world.alice}/roles")
    assert error(listing, 404) == "Could not find project: nope."


async def test_domain_specific_roles_stay_in_their_domain(cloud: Cloud, world: World) -> None:
    async with await cloud.admin() as client:
        local = await _post(client, "/v3/roles", "role", name="acme-local", domain_id=world.domain)
        here = await client.put(f"/v3/projects/{world.root}/users/{world.alice}/roles/{local}")
        admin_project = await find_id(client, "projects", "admin")
        elsewhere = await client.put(
            f"/v3/projects/{admin_project}/users/{world.alice}/roles/{local}"
        )
        system = await client.put(f"/v3/system/users/{world.alice}/roles/{local}")
        await client.delete(f"/v3/roles/{local}")
    assert here.status_code == 204
    assert error(elsewhere, 403) == (
        f"Project {admin_project} must be in the same domain as the role {local} being assigned."
    )
    assert "domain-specific" in error(system, 400)


async def test_revoking_a_role_revokes_the_users_tokens_there(cloud: Cloud) -> None:
    user = await cloud.make_user("carol", password=PASSWORD)
    token = await cloud.token("carol", PASSWORD)
    async with await cloud.admin() as client:
        project = await find_id(client, "projects", "admin")
        role = await find_id(client, "roles", "member")
        revoked = await client.delete(f"/v3/projects/{project}/users/{user['id']}/roles/{role}")
    assert revoked.status_code == 204
    assert not await token_valid(cloud, token)


async def test_project_member_may_not_grant(cloud: Cloud, world: World) -> None:
    async with await cloud.admin() as admin:
        project = await find_id(admin, "projects", "admin")
    async with await member(cloud, "grant-member") as client:
        grant = await client.put(f"/v3/projects/{project}/users/{world.alice}/roles/{world.admin}")
        system = await client.put(f"/v3/system/users/{world.alice}/roles/{world.admin}")
        listing = await client.get("/v3/role_assignments")
    assert error(grant, 403).endswith("identity:create_grant.")
    assert error(system, 403).endswith("identity:create_system_grant_for_user.")
    assert error(listing, 403).endswith("identity:list_role_assignments.")


# -- GET /v3/role_assignments --------------------------------------------------------------


async def _grant(client: httpx.AsyncClient, path: str) -> None:
    response = await client.put(path)
    assert response.status_code == 204, response.text


async def _assignments(cloud: Cloud, **params: str) -> list[dict[str, Any]]:
    async with await cloud.admin() as client:
        response = await client.get("/v3/role_assignments", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["links"]["self"] == f"{BASE}/role_assignments"
    return response.json()["role_assignments"]


@pytest.fixture(scope="module")
async def granted(cloud: Cloud, world: World) -> World:
    """alice: member on root; team (bob): reader on child;
    alice: admin inherited from the domain; bob: member inherited from child."""
    w = world
    async with await cloud.admin() as client:
        await _grant(client, f"/v3/projects/{w.root}/users/{w.alice}/roles/{w.member}")
        await _grant(client, f"/v3/projects/{w.child}/groups/{w.team}/roles/{w.reader}")
        await _grant(
            client,
            f"/v3/OS-INHERIT/domains/{w.domain}/users/{w.alice}/roles/{w.admin}"
            "/inherited_to_projects",
        )
        await _grant(
            client,
            f"/v3/OS-INHERIT/projects/{w.child}/users/{w.bob}/roles/{w.member}"
            "/inherited_to_projects",
        )
    return world


async def test_direct_assignments(cloud: Cloud, granted: World) -> None:
    w = granted
    alice = await _assignments(cloud, **{"user.id": w.alice})
    assert {
        "role": {"id": w.member},
        "user": {"id": w.alice},
        "scope": {"project": {"id": w.root}},
        "links": {"assignment": f"{BASE}/projects/{w.root}/users/{w.alice}/roles/{w.member}"},
    } in alice
    assert {
        "role": {"id": w.admin},
        "user": {"id": w.alice},
        "scope": {"domain": {"id": w.domain}, "OS-INHERIT:inherited_to": "projects"},
        "links": {
            "assignment": f"{BASE}/OS-INHERIT/domains/{w.domain}/users/{w.alice}"
            f"/roles/{w.admin}/inherited_to_projects"
        },
    } in alice
    assert len(alice) == 2
    team = await _assignments(cloud, **{"group.id": w.team})
    assert team == [
        {
            "role": {"id": w.reader},
            "group": {"id": w.team},
            "scope": {"project": {"id": w.child}},
            "links": {"assignment": f"{BASE}/projects/{w.child}/groups/{w.team}/roles/{w.reader}"},
        }
    ]
    on_child = await _assignments(cloud, **{"scope.project.id": w.child})
    assert {(a.get("user") or a["group"])["id"] for a in on_child} == {w.team, w.bob}
    only_inherited = await _assignments(
        cloud, **{"user.id": w.alice, "scope.OS-INHERIT:inherited_to": "projects"}
    )
    assert [a["role"]["id"] for a in only_inherited] == [w.admin]
    by_role = await _assignments(cloud, **{"role.id": w.reader, "scope.project.id": w.child})
    assert [a["group"]["id"] for a in by_role] == [w.team]


async def test_effective_expands_groups_with_a_membership_link(
    cloud: Cloud, granted: World
) -> None:
    w = granted
    bob = await _assignments(
        cloud, **{"user.id": w.bob, "scope.project.id": w.child, "effective": "true"}
    )
    assert {
        "role": {"id": w.reader},
        "user": {"id": w.bob},
        "scope": {"project": {"id": w.child}},
        "links": {
            "assignment": f"{BASE}/projects/{w.child}/groups/{w.team}/roles/{w.reader}",
            "membership": f"{BASE}/groups/{w.team}/users/{w.bob}",
        },
    } in bob
    assert all("group" not in a for a in bob)
    # Everyone in the group, without a user filter.
    everyone = await _assignments(cloud, **{"scope.project.id": w.child, "effective": ""})
    assert w.bob in {a["user"]["id"] for a in everyone}


async def test_effective_applies_inheritance_and_implied_roles(
    cloud: Cloud, granted: World
) -> None:
    w = granted
    on_leaf = await _assignments(
        cloud, **{"user.id": w.alice, "scope.project.id": w.leaf, "effective": "1"}
    )
    inherited_link = (
        f"{BASE}/OS-INHERIT/domains/{w.domain}/users/{w.alice}/roles/{w.admin}"
        "/inherited_to_projects"
    )
    admin_entry = {
        "role": {"id": w.admin},
        "user": {"id": w.alice},
        "scope": {"project": {"id": w.leaf}, "OS-INHERIT:inherited_to": "projects"},
        "links": {"assignment": inherited_link},
    }
    assert admin_entry in on_leaf
    # admin implies manager implies member implies reader; each implied entry names
    # its prior role.
    implied = {a["role"]["id"]: a for a in on_leaf if "prior_role" in a["links"]}
    assert set(implied) == {w.manager, w.member, w.reader}
    assert implied[w.manager]["links"]["prior_role"] == (
        f"{BASE}/prior_role/{w.manager}/implies/{w.admin}"
    )
    assert implied[w.member]["links"]["prior_role"] == (
        f"{BASE}/prior_role/{w.member}/implies/{w.manager}"
    )
    # The project-inherited grant on child reaches the leaf below it, not child itself.
    bob_leaf = await _assignments(
        cloud, **{"user.id": w.bob, "scope.project.id": w.leaf, "effective": "1"}
    )
    assert w.member in {a["role"]["id"] for a in bob_leaf}
    bob_child = await _assignments(
        cloud, **{"user.id": w.bob, "scope.project.id": w.child, "effective": "1"}
    )
    assert w.member not in {a["role"]["id"] for a in bob_child}
    # And a role filter applies after expansion.
    readers = await _assignments(
        cloud, **{"user.id": w.alice, "role.id": w.reader, "effective": "1"}
    )
    assert {a["scope"]["project"]["id"] for a in readers} == {w.root, w.child, w.leaf}


async def test_include_names(cloud: Cloud, granted: World) -> None:
    w = granted
    named = await _assignments(cloud, **{"group.id": w.team, "include_names": "True"})
    assert named == [
        {
            "role": {"id": w.reader, "name": "reader"},
            "group": {"id": w.team, "name": "team", "domain": {"id": "default", "name": "Default"}},
            "scope": {
                "project": {
                    "id": w.child,
                    "name": "child",
                    "domain": {"id": w.domain, "name": "acme"},
                }
            },
            "links": {"assignment": f"{BASE}/projects/{w.child}/groups/{w.team}/roles/{w.reader}"},
        }
    ]
    users = await _assignments(cloud, **{"user.id": w.alice, "include_names": "1"})
    domain_entry = next(a for a in users if "domain" in a["scope"])
    assert domain_entry["scope"]["domain"] == {"id": w.domain, "name": "acme"}
    assert domain_entry["user"] == {
        "id": w.alice,
        "name": "alice",
        "domain": {"id": "default", "name": "Default"},
    }
    unnamed = await _assignments(cloud, **{"group.id": w.team, "include_names": "0"})
    assert unnamed[0]["role"] == {"id": w.reader}


async def test_include_subtree(cloud: Cloud, granted: World) -> None:
    w = granted
    tree = await _assignments(cloud, **{"scope.project.id": w.root, "include_subtree": "true"})
    assert {a["scope"]["project"]["id"] for a in tree} == {w.root, w.child}
    async with await cloud.admin() as client:
        no_project = await client.get("/v3/role_assignments", params={"include_subtree": "1"})
        missing = await client.get(
            "/v3/role_assignments", params={"include_subtree": "1", "scope.project.id": "nope"}
        )
    assert error(no_project, 400) == (
        "scope.project.id must be specified if include_subtree is also specified"
    )
    assert error(missing, 404) == "Could not find project: nope."


async def test_system_assignments(cloud: Cloud) -> None:
    system = await _assignments(cloud, **{"scope.system": "all"})
    (admin,) = system
    assert admin["scope"] == {"system": {"all": True}}
    assert admin["links"]["assignment"] == (
        f"{BASE}/system/users/{admin['user']['id']}/roles/{admin['role']['id']}"
    )
    # Unfiltered direct listings include system grants; effective ones leave them out.
    assert admin in await _assignments(cloud)
    assert all("system" not in a["scope"] for a in await _assignments(cloud, effective="1"))


@pytest.mark.parametrize(
    "params",
    [
        {"scope.project.id": "p", "scope.domain.id": "d"},
        {"scope.system": "all", "scope.domain.id": "d"},
        {"scope.system": "all", "scope.project.id": "p"},
        {"user.id": "u", "group.id": "g"},
        {"group.id": "g", "effective": "1"},
        {"scope.domain.id": "d", "scope.OS-INHERIT:inherited_to": "projects", "effective": "1"},
    ],
)
async def test_contradictory_filters_are_400(cloud: Cloud, params: dict[str, str]) -> None:
    async with await cloud.admin() as client:
        response = await client.get("/v3/role_assignments", params=params)
    error(response, 400)


async def test_domain_scoped_reader_sees_its_domain_only(cloud: Cloud, granted: World) -> None:
    w = granted
    grant = f"/v3/domains/{w.domain}/users/{w.alice}/roles/{w.reader}"
    async with await cloud.admin() as client:
        await _grant(client, grant)
    auth = {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"id": w.alice, "password": PASSWORD}},
        },
        "scope": {"domain": {"id": w.domain}},
    }
    async with cloud.client() as client:
        issued = await client.post("/v3/auth/tokens", json={"auth": auth})
        client.headers["X-Auth-Token"] = issued.headers["x-subject-token"]
        response = await client.get("/v3/role_assignments")
    async with await cloud.admin() as client:
        assert (await client.delete(grant)).status_code == 204
    assert response.status_code == 200, response.text
    scopes = {
        (kind, scope["id"])
        for a in response.json()["role_assignments"]
        for kind, scope in a["scope"].items()
        if kind != "OS-INHERIT:inherited_to"
    }
    assert scopes == {("domain", w.domain), ("project", w.root), ("project", w.child)}
