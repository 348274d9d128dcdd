"""/v3/users/{user_id}/application_credentials, and authenticating with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Cloud
from tests.api.identity_helpers import created, error, find_id, member, whoami


def app_cred_auth(**credential: Any) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": credential,
            }
        }
    }


async def authenticate(cloud: Cloud, **credential: Any) -> httpx.Response:
    async with cloud.client() as anonymous:
        return await anonymous.post("/v3/auth/tokens", json=app_cred_auth(**credential))


async def create(client: httpx.AsyncClient, user_id: str, **fields: Any) -> httpx.Response:
    return await client.post(
        f"/v3/users/{user_id}/application_credentials", json={"application_credential": fields}
    )


async def test_create_list_show_and_authenticate(cloud: Cloud) -> None:
    async with await cloud.admin() as admin:
        project = await find_id(admin, "projects", "admin")
    async with await member(cloud, "ci-bot") as client:
        me = await whoami(client)
        credential = created(
            await create(client, me, name="ci", description="for CI", access_rules=[]),
            "application_credential",
        )
        url = f"/v3/users/{me}/application_credentials/{credential['id']}"
        listed = await client.get(f"/v3/users/{me}/application_credentials")
        by_name = await client.get(f"/v3/users/{me}/application_credentials", params={"name": "x"})
        shown = await client.get(url)
    assert set(credential) == {
        "id",
        "name",
        "description",
        "secret",
        "expires_at",
        "project_id",
        "roles",
        "unrestricted",
        "access_rules",
        "links",
    }
    assert credential["project_id"] == project and credential["description"] == "for CI"
    # By default: the roles of the creating token (member and the reader it implies).
    assert {r["name"] for r in credential["roles"]} == {"member", "reader"}
    assert all(r["domain_id"] is None for r in credential["roles"])
    assert credential["unrestricted"] is False and credential["expires_at"] is None
    assert credential["links"]["self"] == f"http://nimbus.test{url}"
    (entry,) = listed.json()["application_credentials"]
    assert "secret" not in entry and entry["id"] == credential["id"]
    assert by_name.json()["application_credentials"] == []
    assert shown.json()["application_credential"] == entry

    by_id = await authenticate(cloud, id=credential["id"], secret=credential["secret"])
    by_name_auth = await authenticate(
        cloud,
        name="ci",
        secret=credential["secret"],
        user={"name": "ci-bot", "domain": {"id": "default"}},
    )
    wrong = await authenticate(cloud, id=credential["id"], secret="guess")
    assert by_id.status_code == by_name_auth.status_code == 201
    token = by_id.json()["token"]
    assert token["project"]["id"] == project
    assert token["application_credential"]["id"] == credential["id"]
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    assert wrong.status_code == 401


async def test_roles_are_a_subset_and_carry_implied_ones(cloud: Cloud) -> None:
    async with await member(cloud, "picky") as client:
        me = await whoami(client)
        reader = created(
            await create(client, me, name="read", roles=[{"name": "reader"}], secret="s3cret"),
            "application_credential",
        )
        member_only = created(
            await create(client, me, name="mem", roles=[{"name": "member"}]),
            "application_credential",
        )
        escalate = await create(client, me, name="up", roles=[{"name": "admin"}])
        unknown = await create(client, me, name="unknown", roles=[{"name": "nope"}])
    assert reader["secret"] == "s3cret"
    assert [r["name"] for r in reader["roles"]] == ["reader"]
    assert {r["name"] for r in member_only["roles"]} == {"member", "reader"}
    assert error(escalate, 400) == (
        "Invalid application credential: Cannot create an application credential with "
        "unassigned role"
    )
    assert error(unknown, 404) == "Could not find role: nope."
    token = await authenticate(cloud, id=reader["id"], secret="s3cret")
    assert [r["name"] for r in token.json()["token"]["roles"]] == ["reader"]


async def test_duplicates_expiry_and_bad_bodies(cloud: Cloud) -> None:
    soon = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    async with await member(cloud, "careful") as client:
        me = await whoami(client)
        expiring = created(
            await create(client, me, name="once", expires_at=soon), "application_credential"
        )
        again = await create(client, me, name="once")
        past = await create(client, me, name="past", expires_at="2001-01-01T00:00:00")
        garbage = await create(client, me, name="bad-date", expires_at="tomorrow")
        bad_bodies = [
            await create(client, me),
            await create(client, me, name=""),
            await create(client, me, name="x", unrestricted="yes"),
            await create(client, me, name="x", roles=[{"id": "a", "name": "b"}]),
            await create(client, me, name="x", access_rules=[{"path": "/v2"}]),
            await create(client, me, name="x", surprise=True),
            await create(client, me, name="x", secret="é" * 40),
        ]
    assert expiring["expires_at"].startswith(soon)
    assert error(again, 409) == (
        "Conflict occurred attempting to store application_credential - Duplicate entry found "
        "with name once."
    )
    assert "must not be before now" in error(past, 400)
    assert error(garbage, 400).startswith("Timestamp not in expected format.")
    for response in bad_bodies:
        error(response, 400)


async def test_only_the_owner_manages_them(cloud: Cloud) -> None:
    async with await member(cloud, "owner") as owner:
        owner_id = await whoami(owner)
        credential = created(await create(owner, owner_id, name="mine"), "application_credential")
    url = f"/v3/users/{owner_id}/application_credentials/{credential['id']}"
    async with await member(cloud, "intruder") as intruder:
        intruder_id = await whoami(intruder)
        for_other = await create(intruder, owner_id, name="theirs")
        listing = await intruder.get(f"/v3/users/{owner_id}/application_credentials")
        shown = await intruder.get(url)
        # Naming itself in the URL does not reach the owner's credential.
        disguised = await intruder.get(
            f"/v3/users/{intruder_id}/application_credentials/{credential['id']}"
        )
        deleted = await intruder.delete(url)
    async with await cloud.admin() as admin:
        admin_id = await whoami(admin)
        admin_for_other = await create(admin, owner_id, name="by-admin")
        admin_shown = await admin.get(url)
        missing = await admin.get(f"/v3/users/{owner_id}/application_credentials/nope")
    assert error(for_other, 403).endswith("identity:create_application_credential.")
    error(listing, 403)
    error(shown, 403)
    error(disguised, 403)
    error(deleted, 403)
    assert admin_id != owner_id
    error(admin_for_other, 403)
    assert admin_shown.status_code == 200
    assert error(missing, 404) == "Could not find Application Credential: nope."


async def test_deleted_credentials_no_longer_authenticate(cloud: Cloud) -> None:
    async with await member(cloud, "short-lived") as client:
        me = await whoami(client)
        credential = created(await create(client, me, name="tmp"), "application_credential")
        url = f"/v3/users/{me}/application_credentials/{credential['id']}"
        deleted = await client.delete(url)
        again = await client.delete(url)
    assert deleted.status_code == 204
    error(again, 404)
    response = await authenticate(cloud, id=credential["id"], secret=credential["secret"])
    assert response.status_code == 401


@pytest.mark.parametrize("unrestricted", [False, True])
async def test_restricted_credentials_cannot_make_more(cloud: Cloud, unrestricted: bool) -> None:
    name = f"delegator-{unrestricted}"
    async with await member(cloud, name) as client:
        me = await whoami(client)
        credential = created(
            await create(client, me, name="parent", unrestricted=unrestricted),
            "application_credential",
        )
    token = await authenticate(cloud, id=credential["id"], secret=credential["secret"])
    async with cloud.client() as client:
        client.headers["X-Auth-Token"] = token.headers["x-subject-token"]
        child = await create(client, me, name="child")
    if unrestricted:
        assert child.status_code == 201
    else:
        assert "not allowed for managing additional application credentials" in error(child, 403)
