"""/v3/domains and /v3/projects/{id}/tags."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import Cloud
from tests.api.identity_helpers import admin_creates, created, error, member


async def test_create_show_list_update_domain(cloud: Cloud) -> None:
    explicit = uuid.uuid4().hex
    async with await cloud.admin() as client:
        domain = created(
            await client.post(
                "/v3/domains",
                json={
                    "domain": {
                        "name": "acme",
                        "description": "Acme Inc.",
                        "tags": ["red", "blue"],
                        "explicit_domain_id": explicit,
                        "contact": "ops@acme.test",
                    }
                },
            ),
            "domain",
        )
        shown = await client.get(f"/v3/domains/{explicit}")
        by_name = await client.get("/v3/domains", params={"name": "acme"})
        disabled = await client.get("/v3/domains", params={"enabled": "false"})
        updated = await client.patch(
            f"/v3/domains/{explicit}", json={"domain": {"description": None, "tags": ["green"]}}
        )
    assert domain == {
        "id": explicit,
        "name": "acme",
        "description": "Acme Inc.",
        "enabled": True,
        "tags": ["blue", "red"],
        "options": {},
        "contact": "ops@acme.test",
        "links": {"self": f"http://nimbus.test/v3/domains/{explicit}"},
    }
    assert shown.status_code == 200 and shown.json()["domain"] == domain
    listing = by_name.json()
    assert [d["id"] for d in listing["domains"]] == [explicit]
    assert listing["links"]["self"] == "http://nimbus.test/v3/domains"
    assert disabled.json()["domains"] == []
    assert updated.status_code == 200
    assert updated.json()["domain"]["description"] == ""
    assert updated.json()["domain"]["tags"] == ["green"]


async def test_default_domain_is_listed(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        response = await client.get("/v3/domains")
    assert response.status_code == 200
    assert "default" in {d["id"] for d in response.json()["domains"]}


async def test_delete_requires_a_disabled_domain_and_takes_its_contents(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        domain = created(
            await client.post("/v3/domains", json={"domain": {"name": "doomed"}}), "domain"
        )
        project = created(
            await client.post(
                "/v3/projects", json={"project": {"name": "inside", "domain_id": domain["id"]}}
            ),
            "project",
        )
        enabled = await client.delete(f"/v3/domains/{domain['id']}")
        disable = await client.patch(
            f"/v3/domains/{domain['id']}", json={"domain": {"enabled": False}}
        )
        deleted = await client.delete(f"/v3/domains/{domain['id']}")
        gone = await client.get(f"/v3/domains/{domain['id']}")
        project_gone = await client.get(f"/v3/projects/{project['id']}")
    assert error(enabled, 403) == "Cannot delete a domain that is enabled, please disable it first."
    assert disable.json()["domain"]["enabled"] is False
    assert deleted.status_code == 204
    assert error(gone, 404) == f"Could not find domain: {domain['id']}."
    assert project_gone.status_code == 404


async def test_duplicate_name_is_409(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        created(await client.post("/v3/domains", json={"domain": {"name": "twice"}}), "domain")
        again = await client.post("/v3/domains", json={"domain": {"name": "twice"}})
        other = created(
            await client.post("/v3/domains", json={"domain": {"name": "once"}}), "domain"
        )
        rename = await client.patch(
            f"/v3/domains/{other['id']}", json={"domain": {"name": "twice"}}
        )
    assert "twice" in error(again, 409)
    error(rename, 409)


async def test_missing_domain_is_404(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        for response in (
            await client.get("/v3/domains/nope"),
            await client.patch("/v3/domains/nope", json={"domain": {"enabled": False}}),
            await client.delete("/v3/domains/nope"),
        ):
            assert error(response, 404) == "Could not find domain: nope."


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"domain": {}},
        {"domain": {"name": ""}},
        {"domain": {"name": 7}},
        {"domain": {"name": "x", "enabled": "yes"}},
        {"domain": {"name": "x", "tags": ["a,b"]}},
        {"domain": {"name": "x", "explicit_domain_id": "not-a-uuid"}},
        {"domain": {"name": "x"}, "extra": 1},
    ],
)
async def test_bad_create_bodies_are_400(cloud: Cloud, body: object) -> None:
    async with await cloud.admin() as client:
        response = await client.post("/v3/domains", json=body)
    assert "Invalid input" in error(response, 400)


async def test_empty_update_is_400(cloud: Cloud) -> None:
    async with await cloud.admin() as client:
        response = await client.patch("/v3/domains/default", json={"domain": {}})
    error(response, 400)


async def test_project_member_may_not_manage_domains(cloud: Cloud) -> None:
    async with await member(cloud, "domain-member") as client:
        listing = await client.get("/v3/domains")
        create = await client.post("/v3/domains", json={"domain": {"name": "mine"}})
        update = await client.patch("/v3/domains/default", json={"domain": {"enabled": False}})
        shown = await client.get("/v3/domains/default")
    assert error(listing, 403).endswith("identity:list_domains.")
    assert error(create, 403).endswith("identity:create_domain.")
    error(update, 403)
    # A project's users may see the domain their project is in.
    assert shown.status_code == 200


# -- project tags --------------------------------------------------------------------------


async def _project(cloud: Cloud, name: str) -> str:
    return (await admin_creates(cloud, "projects", name=name, tags=["a"]))["id"]


async def test_project_tags_lifecycle(cloud: Cloud) -> None:
    project_id = await _project(cloud, "tagged")
    url = f"/v3/projects/{project_id}/tags"
    async with await cloud.admin() as client:
        listed = await client.get(url)
        added = await client.put(f"{url}/b")
        checked = await client.get(f"{url}/b")
        headed = await client.head(f"{url}/b")
        missing = await client.head(f"{url}/zzz")
        missing_get = await client.get(f"{url}/zzz")
        replaced = await client.put(url, json={"tags": ["x", "y"]})
        removed = await client.delete(f"{url}/x")
        removed_again = await client.delete(f"{url}/x")
        after = await client.get(url)
        by_tag = await client.get("/v3/projects", params={"tags": "y"})
        cleared = await client.delete(url)
        empty = await client.get(url)
    assert listed.status_code == 200
    assert listed.json() == {"tags": ["a"], "links": {"self": f"http://nimbus.test{url}"}}
    assert added.status_code == 201
    assert added.headers["location"] == f"http://nimbus.test{url}/b"
    assert checked.status_code == 204 and headed.status_code == 204
    assert missing.status_code == 404
    assert error(missing_get, 404) == "Could not find project tag: zzz."
    assert replaced.status_code == 200 and replaced.json()["tags"] == ["x", "y"]
    assert removed.status_code == 204
    error(removed_again, 404)
    assert after.json()["tags"] == ["y"]
    assert project_id in {p["id"] for p in by_tag.json()["projects"]}
    assert cleared.status_code == 204 and empty.json()["tags"] == []


async def test_project_tag_limits_and_bad_bodies(cloud: Cloud) -> None:
    project_id = await _project(cloud, "tag-limits")
    url = f"/v3/projects/{project_id}/tags"
    async with await cloud.admin() as client:
        duplicate = await client.put(f"{url}/a")
        comma = await client.put(f"{url}/a,b")
        not_unique = await client.put(url, json={"tags": ["q", "q"]})
        too_many = await client.put(url, json={"tags": [f"t{i}" for i in range(81)]})
        wrong_type = await client.put(url, json={"tags": "a"})
        full = await client.put(url, json={"tags": [f"t{i}" for i in range(80)]})
        one_more = await client.put(f"{url}/last")
        missing_project = await client.get("/v3/projects/nope/tags")
    for response in (duplicate, comma, not_unique, too_many, wrong_type, one_more):
        error(response, 400)
    assert full.status_code == 200
    assert error(missing_project, 404) == "Could not find project: nope."


async def test_project_member_reads_but_may_not_change_tags(cloud: Cloud) -> None:
    async with await cloud.admin() as admin:
        (project,) = (await admin.get("/v3/projects", params={"name": "admin"})).json()["projects"]
    url = f"/v3/projects/{project['id']}/tags"
    async with await member(cloud, "tag-member") as client:
        listed = await client.get(url)
        added = await client.put(f"{url}/mine")
        replaced = await client.put(url, json={"tags": []})
    assert listed.status_code == 200
    assert error(added, 403).endswith("identity:create_project_tag.")
    assert error(replaced, 403).endswith("identity:update_project_tags.")


async def test_project_acting_as_domain(cloud: Cloud) -> None:
    """`is_domain` projects are domains, reachable through /v3/projects as upstream."""
    async with await cloud.admin() as client:
        created = await client.post(
            "/v3/projects", json={"project": {"name": "as-domain", "is_domain": True}}
        )
        assert created.status_code == 201, created.text
        project = created.json()["project"]
        assert project["is_domain"] is True
        assert project["domain_id"] is None and project["parent_id"] is None
        listed = await client.get("/v3/projects", params={"is_domain": "true"})
        names = {p["name"] for p in listed.json()["projects"]}
        plain = await client.get("/v3/projects")
        as_domain = await client.get(f"/v3/domains/{project['id']}")
        enabled_delete = await client.delete(f"/v3/projects/{project['id']}")
        disabled = await client.patch(
            f"/v3/projects/{project['id']}", json={"project": {"enabled": False}}
        )
        deleted = await client.delete(f"/v3/projects/{project['id']}")
    assert {"as-domain", "Default"} <= names
    assert "as-domain" not in {p["name"] for p in plain.json()["projects"]}
    assert as_domain.status_code == 200
    assert enabled_delete.status_code == 403
    assert disabled.status_code == 200 and disabled.json()["project"]["enabled"] is False
    assert deleted.status_code == 204
