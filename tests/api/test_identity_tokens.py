"""Tokens: issue with every method and scope, validate, revoke, expire."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.api.conftest import Cloud


def password_auth(user: str, password: str, scope: Any = None) -> dict[str, Any]:
    auth: dict[str, Any] = {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
        }
    }
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


async def test_versions(cloud: Cloud) -> None:
    async with cloud.client() as client:
        root = await client.get("/")
        v3 = await client.get("/v3")
    assert root.status_code == 300
    (version,) = root.json()["versions"]["values"]
    assert version["id"] == "v3.14" and version["status"] == "stable"
    assert version["links"][0]["href"] == "http://nimbus.test/v3/"
    assert v3.status_code == 200 and v3.json()["version"]["id"] == "v3.14"


async def test_project_scoped_token_has_roles_and_catalog(cloud: Cloud) -> None:
    scope = {"project": {"name": "admin", "domain": {"name": "Default"}}}
    async with cloud.client() as client:
        response = await client.post(
            "/v3/auth/tokens", json=password_auth("admin", cloud.admin_password, scope)
        )
    assert response.status_code == 201
    token = response.json()["token"]
    assert response.headers["x-subject-token"]
    assert token["methods"] == ["password"]
    assert token["project"]["name"] == "admin"
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    assert {r["name"] for r in token["roles"]} == {"admin", "manager", "member", "reader"}
    identity = [s for s in token["catalog"] if s["type"] == "identity"]
    assert {e["interface"] for e in identity[0]["endpoints"]} == {"public", "internal", "admin"}
    assert token["expires_at"].endswith("Z") and len(token["audit_ids"]) == 1


async def test_unscoped_domain_and_system_tokens(cloud: Cloud) -> None:
    async with cloud.client() as client:
        unscoped = await client.post(
            "/v3/auth/tokens", json=password_auth("admin", cloud.admin_password, "unscoped")
        )
        system = await client.post(
            "/v3/auth/tokens",
            json=password_auth("admin", cloud.admin_password, {"system": {"all": True}}),
        )
        nocatalog = await client.post(
            "/v3/auth/tokens?nocatalog",
            json=password_auth("admin", cloud.admin_password, {"system": {"all": True}}),
        )
    assert unscoped.status_code == 201
    assert "project" not in unscoped.json()["token"]
    assert "catalog" not in unscoped.json()["token"]
    assert "roles" not in unscoped.json()["token"]
    assert system.status_code == 201
    assert system.json()["token"]["system"] == {"all": True}
    assert "catalog" in system.json()["token"]
    assert "catalog" not in nocatalog.json()["token"]


async def test_domain_scope_requires_a_domain_role(cloud: Cloud) -> None:
    scope = {"domain": {"id": "default"}}
    async with cloud.client() as client:
        response = await client.post(
            "/v3/auth/tokens", json=password_auth("admin", cloud.admin_password, scope)
        )
    assert response.status_code == 401


async def test_bad_credentials_all_look_the_same(cloud: Cloud) -> None:
    async with cloud.client() as client:
        wrong_password = await client.post("/v3/auth/tokens", json=password_auth("admin", "nope"))
        no_user = await client.post("/v3/auth/tokens", json=password_auth("ghost", "nope"))
    assert wrong_password.status_code == no_user.status_code == 401
    assert wrong_password.json() == no_user.json()
    assert wrong_password.json()["error"]["title"] == "Unauthorized"


async def test_validate_check_and_revoke(cloud: Cloud) -> None:
    subject = await cloud.token()
    admin = await cloud.admin_token()
    headers = {"X-Auth-Token": admin, "X-Subject-Token": subject}
    async with cloud.client() as client:
        shown = await client.get("/v3/auth/tokens", headers=headers)
        checked = await client.head("/v3/auth/tokens", headers=headers)
        revoked = await client.delete("/v3/auth/tokens", headers=headers)
        after = await client.get("/v3/auth/tokens", headers=headers)
        used = await client.get("/v3/users", headers={"X-Auth-Token": subject})
    assert shown.status_code == 200
    assert shown.headers["x-subject-token"] == subject
    assert shown.json()["token"]["user"]["name"] == "admin"
    assert checked.status_code == 200
    assert revoked.status_code == 204
    assert after.status_code == 404
    assert used.status_code == 401


async def test_rescope_with_token_method_keeps_expiry_and_audit_chain(cloud: Cloud) -> None:
    async with cloud.client() as client:
        unscoped = await client.post(
            "/v3/auth/tokens", json=password_auth("admin", cloud.admin_password, "unscoped")
        )
        original = unscoped.json()["token"]
        rescoped = await client.post(
            "/v3/auth/tokens",
            json={
                "auth": {
                    "identity": {
                        "methods": ["token"],
                        "token": {"id": unscoped.headers["x-subject-token"]},
                    },
                    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
                }
            },
        )
    assert rescoped.status_code == 201
    token = rescoped.json()["token"]
    assert token["methods"] == ["password", "token"]
    assert token["project"]["name"] == "admin"
    assert token["expires_at"] == original["expires_at"]
    assert token["audit_ids"][1] == original["audit_ids"][0]


async def test_revoking_a_token_revokes_only_that_token(cloud: Cloud) -> None:
    """As upstream (and Tempest's test_rescope_token): revoking a rescoped token leaves
    the token it came from usable, and revoking the original leaves its rescoped ones."""
    unscoped = await cloud.token(project=None)
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    async with cloud.client() as client:
        first = (await client.post("/v3/auth/tokens", json=body)).headers["x-subject-token"]
        second = (await client.post("/v3/auth/tokens", json=body)).headers["x-subject-token"]
        await client.delete(
            "/v3/auth/tokens", headers={"X-Auth-Token": second, "X-Subject-Token": first}
        )
        first_used = await client.get("/v3/users", headers={"X-Auth-Token": first})
        third = await client.post("/v3/auth/tokens", json=body)
        await client.delete(
            "/v3/auth/tokens", headers={"X-Auth-Token": second, "X-Subject-Token": unscoped}
        )
        second_used = await client.get("/v3/users", headers={"X-Auth-Token": second})
        rescope_again = await client.post("/v3/auth/tokens", json=body)
    assert first_used.status_code == 401
    assert third.status_code == 201
    assert second_used.status_code == 200
    assert rescope_again.status_code == 401


async def test_tampered_and_garbage_tokens_are_refused(cloud: Cloud) -> None:
    token = await cloud.admin_token()
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    async with cloud.client() as client:
        for bad in (tampered, "garbage", "x" * 4000):
            response = await client.get("/v3/users", headers={"X-Auth-Token": bad})
            assert response.status_code == 401, bad
        missing = await client.get("/v3/users")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Keystone")


async def test_expired_token_is_refused(cloud: Cloud) -> None:
    authenticator = cloud.apps["identity"].app.state.authenticator
    original = authenticator.expiration
    authenticator.expiration = timedelta(seconds=1)
    try:
        token = await cloud.token()
    finally:
        authenticator.expiration = original
    await asyncio.sleep(1.1)
    async with cloud.client() as client:
        response = await client.get("/v3/users", headers={"X-Auth-Token": token})
    assert response.status_code == 401


async def test_password_change_revokes_existing_tokens(cloud: Cloud) -> None:
    user = await cloud.make_user("pwchanger", password="first-pw")
    token = await cloud.token("pwchanger", "first-pw")
    async with cloud.client() as client:
        changed = await client.post(
            f"/v3/users/{user['id']}/password",
            headers={"X-Auth-Token": token},
            json={"user": {"password": "second-pw", "original_password": "first-pw"}},
        )
        after = await client.get(
            f"/v3/users/{user['id']}/projects", headers={"X-Auth-Token": token}
        )
    assert changed.status_code == 204
    assert after.status_code == 401
    assert await cloud.token("pwchanger", "second-pw")


async def test_auth_projects_catalog_and_system(cloud: Cloud) -> None:
    await cloud.make_user("lister", password="lister-pw")
    token = await cloud.token("lister", "lister-pw")
    headers = {"X-Auth-Token": token}
    async with cloud.client() as client:
        projects = await client.get("/v3/auth/projects", headers=headers)
        catalog = await client.get("/v3/auth/catalog", headers=headers)
        system = await client.get("/v3/auth/system", headers=headers)
    assert [p["name"] for p in projects.json()["projects"]] == ["admin"]
    assert any(s["type"] == "identity" for s in catalog.json()["catalog"])
    assert system.json()["system"] == []


async def test_inherited_project_grant_reaches_the_whole_subtree(cloud: Cloud) -> None:
    """A grant inherited to projects reaches grandchildren: scoping and listing agree."""
    user = await cloud.make_user("treewalker", role=None, password="tree-pw")
    async with await cloud.admin() as client:
        ids: dict[str, str] = {}
        parent = None
        for name in ("tree-root", "tree-child", "tree-grandchild"):
            body = {"project": {"name": name, "domain_id": "default"}}
            if parent:
                body["project"]["parent_id"] = parent
            response = await client.post("/v3/projects", json=body)
            assert response.status_code == 201, response.text
            parent = ids[name] = response.json()["project"]["id"]
        role = (await client.get("/v3/roles", params={"name": "reader"})).json()["roles"][0]
        granted = await client.put(
            f"/v3/OS-INHERIT/projects/{ids['tree-root']}/users/{user['id']}/roles/"
            f"{role['id']}/inherited_to_projects"
        )
        assert granted.status_code == 204
    token = await cloud.token("treewalker", "tree-pw", project="tree-grandchild")
    async with cloud.client() as client:
        listed = await client.get("/v3/auth/projects", headers={"X-Auth-Token": token})
        refused = await client.post(
            "/v3/auth/tokens",
            json={
                "auth": {
                    "identity": {"methods": ["token"], "token": {"id": token}},
                    "scope": {"project": {"id": ids["tree-root"]}},
                }
            },
        )
    assert {p["name"] for p in listed.json()["projects"]} == {"tree-child", "tree-grandchild"}
    assert refused.status_code == 401  # the grant is inherited by the subtree, not the root


async def test_password_change_needs_the_original_password_not_a_token(cloud: Cloud) -> None:
    user = await cloud.make_user("forgetful", password="old-pw")
    url = f"/v3/users/{user['id']}/password"
    async with cloud.client() as client:
        wrong = await client.post(
            url, json={"user": {"password": "new-pw", "original_password": "guess"}}
        )
        right = await client.post(
            url, json={"user": {"password": "new-pw", "original_password": "old-pw"}}
        )
    assert wrong.status_code == 401
    assert right.status_code == 204
    assert await cloud.token("forgetful", "new-pw")
