"""Visibility, members and the default policies, seen from three projects.

alice (member of image-a) owns the images, bob (member of image-b) is the consumer,
carol holds only the reader role on image-c; the admin sees everything.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Cloud
from tests.api.image_helpers import create, fault, image_client, patch, project_member


@pytest.fixture(scope="module")
async def world(cloud: Cloud) -> dict[str, Any]:
    """The three projects and alice's images, one per visibility, plus a public one."""
    projects = {
        "a": await project_member(cloud, "image-a", "alice-img"),
        "b": await project_member(cloud, "image-b", "bob-img"),
        "c": await project_member(cloud, "image-c", "carol-img", role="reader"),
    }
    async with await image_client(cloud, "alice-img", "image-a") as alice:
        images = {
            visibility: await create(alice, name=f"alice-{visibility}", visibility=visibility)
            for visibility in ("private", "shared", "community")
        }
    async with await image_client(cloud) as admin:
        images["public"] = await create(admin, name="admin-public", visibility="public")
    return {"projects": projects, "images": images}


async def names(client: Any, **params: str) -> set[str]:
    response = await client.get("/v2/images", params=params)
    assert response.status_code == 200, response.text
    return {image["name"] for image in response.json()["images"]}


async def test_what_another_project_sees(cloud: Cloud, world: dict[str, Any]) -> None:
    images = world["images"]
    async with await image_client(cloud, "bob-img", "image-b") as bob:
        private = await bob.get(f"/v2/images/{images['private']['id']}")
        shared = await bob.get(f"/v2/images/{images['shared']['id']}")
        community = await bob.get(f"/v2/images/{images['community']['id']}")
        public = await bob.get(f"/v2/images/{images['public']['id']}")
        listed = await names(bob)
        communities = await names(bob, visibility="community")
        patched = await patch(bob, images["private"]["id"], {"op": "remove", "path": "/x"})
    fault(private, 404)
    fault(shared, 404)
    fault(patched, 404)
    assert community.status_code == public.status_code == 200
    assert "admin-public" in listed
    assert not listed & {"alice-private", "alice-shared", "alice-community"}
    assert "alice-community" in communities


async def test_owner_and_admin_see_everything(cloud: Cloud, world: dict[str, Any]) -> None:
    mine = {"alice-private", "alice-shared", "alice-community", "admin-public"}
    async with await image_client(cloud, "alice-img", "image-a") as alice:
        assert await names(alice) >= mine
        assert await names(alice, visibility="private") == {"alice-private"}
    async with await image_client(cloud) as admin:
        listed = await names(admin)
        everything = await names(admin, visibility="all")
        private = await admin.get(f"/v2/images/{world['images']['private']['id']}")
    assert {"alice-private", "alice-shared"} <= listed and "alice-community" not in listed
    assert mine <= everything
    assert private.status_code == 200


async def test_sharing_workflow(cloud: Cloud, world: dict[str, Any]) -> None:
    shared = world["images"]["shared"]["id"]
    bob_project, carol_project = world["projects"]["b"], world["projects"]["c"]
    members_url = f"/v2/images/{shared}/members"
    async with (
        await image_client(cloud, "alice-img", "image-a") as alice,
        await image_client(cloud, "bob-img", "image-b") as bob,
    ):
        added = await alice.post(members_url, json={"member": bob_project})
        assert added.status_code == 200, added.text
        assert added.json()["status"] == "pending"
        assert added.json()["schema"] == "/v2/schemas/member"
        await alice.post(members_url, json={"member": carol_project})
        fault(await alice.post(members_url, json={"member": bob_project}), 409)

        # Reachable at once, but listed only once accepted.
        assert (await bob.get(f"/v2/images/{shared}")).status_code == 200
        assert "alice-shared" not in await names(bob)
        assert "alice-shared" in await names(bob, member_status="pending")
        mine = f"{members_url}/{bob_project}"
        fault(await alice.put(mine, json={"status": "accepted"}), 403)
        fault(await bob.put(mine, json={"status": "maybe"}), 400)
        accepted = await bob.put(mine, json={"status": "accepted"})
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
        assert "alice-shared" in await names(bob)
        assert "alice-shared" not in await names(bob, member_status="rejected")

        # Each side sees what it should of the member list.
        owner_view = (await alice.get(members_url)).json()
        member_view = (await bob.get(members_url)).json()
        assert {m["member_id"] for m in owner_view["members"]} == {bob_project, carol_project}
        assert [m["member_id"] for m in member_view["members"]] == [bob_project]
        assert member_view["schema"] == "/v2/schemas/members"
        fault(await bob.get(f"{members_url}/{carol_project}"), 404)
        assert (await bob.get(mine)).json()["status"] == "accepted"

        # A member reads but neither manages members nor changes the image.
        fault(await bob.post(members_url, json={"member": "someone"}), 403)
        fault(await bob.delete(f"{members_url}/{carol_project}"), 404)
        fault(await bob.delete(mine), 403)
        fault(await patch(bob, shared, {"op": "add", "path": "/x", "value": "y"}), 403)
        fault(await bob.delete(f"/v2/images/{shared}"), 403)

        removed = await alice.delete(mine)
        assert removed.status_code == 204
        fault(await bob.get(f"/v2/images/{shared}"), 404)


async def test_members_only_on_shared_images(cloud: Cloud, world: dict[str, Any]) -> None:
    private = world["images"]["private"]["id"]
    async with await image_client(cloud, "alice-img", "image-a") as alice:
        added = await alice.post(f"/v2/images/{private}/members", json={"member": "x"})
        listed = await alice.get(f"/v2/images/{private}/members")
        shown = await alice.get(f"/v2/images/{private}/members/x")
        empty = await alice.post(f"/v2/images/{private}/members", json={"member": ""})
    assert "Only shared images have members" in fault(added, 403)
    fault(listed, 403)
    fault(shown, 404)
    fault(empty, 400)


async def test_visibility_and_ownership_rules(cloud: Cloud, world: dict[str, Any]) -> None:
    async with await image_client(cloud, "alice-img", "image-a") as alice:
        public = await alice.post("/v2/images", json={"name": "x", "visibility": "public"})
        community = await alice.post("/v2/images", json={"name": "x", "visibility": "community"})
        foreign = await alice.post("/v2/images", json={"owner": world["projects"]["b"]})
        private = world["images"]["private"]["id"]
        publicize = await patch(
            alice, private, {"op": "replace", "path": "/visibility", "value": "public"}
        )
        give_away = await patch(alice, private, {"op": "replace", "path": "/owner", "value": "x"})
    fault(public, 403)
    assert community.status_code == 201
    assert "owned by" in fault(foreign, 403)
    fault(publicize, 403)
    assert "non admin" in fault(give_away, 403)
    async with await image_client(cloud) as admin:
        for_b = await create(admin, name="admin-made-for-b", owner=world["projects"]["b"])
    assert for_b["owner"] == world["projects"]["b"]


async def test_reader_reads_but_does_not_write(cloud: Cloud, world: dict[str, Any]) -> None:
    async with await image_client(cloud, "carol-img", "image-c") as carol:
        listed = await names(carol)
        created = await carol.post("/v2/images", json={"name": "carol"})
        download = await carol.get(f"/v2/images/{world['images']['public']['id']}/file")
    assert "admin-public" in listed
    fault(created, 403)
    fault(download, 403)


async def test_unscoped_token_may_not_use_images(cloud: Cloud, world: dict[str, Any]) -> None:
    async with cloud.client("image") as client:
        client.headers["X-Auth-Token"] = await cloud.token(project=None)
        response = await client.get("/v2/images")
    fault(response, 403)
