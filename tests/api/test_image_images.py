"""Images: version discovery, create, show, list (filters, sort, paging), update,
delete, tags, schemas and bad input, with Glance's status codes and error shape."""

from __future__ import annotations

import pytest

from tests.api.conftest import Cloud
from tests.api.image_helpers import create, fault, image_client, patch, show

UUID = "c1b4a0ea-9f2d-4a5e-8f3c-2b7e5f0d9a11"


async def test_versions_negotiate_v2(cloud: Cloud) -> None:
    async with cloud.client("image") as client:
        root = await client.get("/")
        explicit = await client.get("/versions")
    assert root.status_code == 300
    versions = root.json()["versions"]
    assert versions[0] == {
        "id": "v2.17",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": "http://nimbus.test/v2/"}],
    }
    assert {v["id"] for v in versions} >= {"v2.0", "v2.1", "v2.9", "v2.15"}
    assert explicit.status_code == 200 and explicit.json() == root.json()


async def test_create_shows_every_base_attribute(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(
            client,
            name="create-1",
            disk_format="qcow2",
            container_format="bare",
            min_disk=2,
            min_ram=512,
            tags=["b", "a", "a"],
            os_distro="cirros",
            custom="value",
        )
        again = await show(client, image["id"])
    async with await cloud.admin() as identity:
        admin_project = (await identity.get("/v3/projects", params={"name": "admin"})).json()
    assert image == again
    assert image["owner"] == admin_project["projects"][0]["id"]
    assert image["status"] == "queued" and image["visibility"] == "shared"
    assert image["protected"] is False and image["os_hidden"] is False
    assert image["size"] is None and image["checksum"] is None and image["virtual_size"] is None
    assert image["tags"] == ["a", "b"]
    assert image["os_distro"] == "cirros" and image["custom"] == "value"
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["created_at"].endswith("Z")


async def test_create_with_id_and_duplicate(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, id=UUID, name="with-id")
        again = await client.post("/v2/images", json={"id": UUID})
    assert image["id"] == UUID
    assert "already exists" in fault(again, 409)


@pytest.mark.parametrize(
    "body",
    [
        [],
        "image",
        {"name": 7},
        {"name": "x" * 256},
        {"visibility": "everyone"},
        {"disk_format": "exe"},
        {"container_format": "zip"},
        {"min_ram": -1},
        {"min_disk": "1"},
        {"protected": "yes"},
        {"tags": "a"},
        {"tags": ["x" * 256]},
        {"id": "not-a-uuid"},
        {"kernel_id": "nope"},
        {"custom": 1},
        {"description": None},
        {"x" * 256: "long key"},
    ],
)
async def test_bad_create_bodies_are_400(cloud: Cloud, body: object) -> None:
    async with await image_client(cloud) as client:
        response = await client.post("/v2/images", json=body)
    fault(response, 400)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("status", "read-only"),
        ("checksum", "read-only"),
        ("size", "read-only"),
        ("self", "read-only"),
        ("locations", "reserved"),
        ("deleted", "reserved"),
        ("os_glance_import_task", "reserved"),
    ],
)
async def test_create_refuses_read_only_and_reserved(cloud: Cloud, name: str, why: str) -> None:
    async with await image_client(cloud) as client:
        response = await client.post("/v2/images", json={"name": "ro", name: "x"})
    assert f"'{name}' is {why}" in fault(response, 403)


async def test_malformed_json_is_400(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        response = await client.post(
            "/v2/images", content=b'{"name": ', headers={"content-type": "application/json"}
        )
    assert "Malformed" in fault(response, 400)


async def test_unknown_image_is_404_in_glance_shape(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        response = await client.get("/v2/images/no-such-image")
    body = response.json()
    assert body == {
        "message": "No image found with ID no-such-image<br /><br />\n\n\n",
        "code": "404 Not Found",
        "title": "Not Found",
    }
    assert response.headers["x-openstack-request-id"].startswith("req-")


async def test_no_token_is_401_in_keystone_shape(cloud: Cloud) -> None:
    async with cloud.client("image") as client:
        response = await client.get("/v2/images")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401
    assert response.headers["www-authenticate"].startswith("Keystone")


async def test_wrong_method_is_405(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        response = await client.put("/v2/images")
    fault(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


async def test_filters(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        small = await create(
            client, name="filt-small", disk_format="raw", container_format="bare", tags=["f1"]
        )
        big = await create(
            client,
            name="filt, big",
            disk_format="qcow2",
            container_format="ovf",
            protected=True,
            tags=["f1", "f2"],
            flavour="vanilla",
        )
        hidden = await create(client, name="filt-hidden", os_hidden=True)

        async def names(**params: str | list[str]) -> set[str]:
            response = await client.get("/v2/images", params=params)
            assert response.status_code == 200, response.text
            return {image["name"] for image in response.json()["images"]}

        assert await names(name="filt-small") == {"filt-small"}
        assert await names(name='in:filt-small,"filt, big"') == {"filt-small", "filt, big"}
        assert await names(tag="f1") >= {"filt-small", "filt, big"}
        assert await names(tag=["f1", "f2"]) == {"filt, big"}
        assert await names(flavour="vanilla") == {"filt, big"}
        assert "filt, big" in await names(protected="true")
        assert "filt, big" not in await names(protected="false")
        assert await names(disk_format="raw", tag="f1") == {"filt-small"}
        assert await names(container_format="in:ovf", tag="f1") == {"filt, big"}
        assert "filt-hidden" not in await names()
        assert "filt-hidden" in await names(os_hidden="true")
        assert "filt-hidden" in await names(os_hidden="True")  # as openstacksdk sends it
        assert {"filt-small", "filt, big"} <= await names(status="queued", visibility="shared")
        assert await names(id=hidden["id"], os_hidden="true") == {"filt-hidden"}
        created = small["created_at"]
        assert "filt, big" in await names(created_at=f"gte:{created}")
        assert await names(created_at="lt:2000-01-01T00:00:00Z") == set()
        assert await names(owner=big["owner"], tag="f2") == {"filt, big"}
        for bad in (
            {"protected": "maybe"},
            {"os_hidden": "1"},
            {"size_min": "big"},
            {"created_at": "after:yesterday"},
            {"name": "like:x"},
            {"visibility": "everyone"},
            {"member_status": "maybe"},
            {"changes-since": "2020-01-01T00:00:00Z"},
            {"limit": "-1"},
            {"limit": "ten"},
            {"sort_key": "owner"},
            {"sort_dir": "up"},
            {"sort": "name:asc", "sort_key": "name"},
            {"marker": "no-such-image"},
        ):
            fault(await client.get("/v2/images", params=bad), 400)


async def test_sort_and_paging(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        for name in ("page-c", "page-a", "page-b", "page-e", "page-d"):
            await create(client, name=name, tags=["paging"])

        async def walk(**params: str) -> list[str]:
            seen: list[str] = []
            url: str | None = "/v2/images"
            query: dict[str, str] | None = {"tag": "paging", "limit": "2", **params}
            while url:
                body = (await client.get(url, params=query)).json()
                assert body["schema"] == "/v2/schemas/images"
                assert "marker" not in body["first"]
                seen += [image["name"] for image in body["images"]]
                url, query = body.get("next"), None
            return seen

        names = ["page-a", "page-b", "page-c", "page-d", "page-e"]
        assert await walk(sort_key="name", sort_dir="asc") == names
        assert await walk(sort="name:desc") == names[::-1]
        assert await walk(sort="status:asc,name") == names[::-1]
        assert await walk(sort_key="name") == names[::-1]
        # Newest first by default (MariaDB keeps whole seconds: ties fall back on id).
        assert sorted(await walk()) == names
        first = (await client.get("/v2/images", params={"tag": "paging", "limit": "2"})).json()
    assert first["first"] == "/v2/images?tag=paging&limit=2"
    assert first["next"].startswith("/v2/images?tag=paging&limit=2&marker=")


async def test_update_with_json_patch(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="patch-me", gone="soon", kept="1")
        response = await patch(
            client,
            image["id"],
            {"op": "replace", "path": "/name", "value": "patched"},
            {"op": "add", "path": "/min_ram", "value": 256},
            {"op": "add", "path": "/new~1prop", "value": "slash"},
            {"op": "replace", "path": "/kept", "value": "2"},
            {"op": "remove", "path": "/gone"},
            {"op": "replace", "path": "/tags", "value": ["t1", "t2"]},
            {"op": "replace", "path": "/disk_format", "value": "iso"},
            {"op": "replace", "path": "/visibility", "value": "private"},
            {"op": "add", "path": "/os_hidden", "value": True},
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        old_style = await client.patch(
            f"/v2/images/{image['id']}",
            json=[{"replace": "/name", "value": "draft4"}],
            headers={"content-type": "application/openstack-images-v2.0-json-patch"},
        )
    assert updated["name"] == "patched" and updated["min_ram"] == 256
    assert updated["new/prop"] == "slash" and updated["kept"] == "2" and "gone" not in updated
    assert updated["tags"] == ["t1", "t2"] and updated["disk_format"] == "iso"
    assert updated["visibility"] == "private" and updated["os_hidden"] is True
    assert updated["updated_at"] >= image["updated_at"]
    assert old_style.status_code == 200 and old_style.json()["name"] == "draft4"


@pytest.mark.parametrize(
    ("operation", "code", "why"),
    [
        ({"op": "replace", "path": "/status", "value": "active"}, 403, "read-only"),
        ({"op": "replace", "path": "/id", "value": UUID}, 403, "read-only"),
        ({"op": "add", "path": "/checksum", "value": "0" * 32}, 403, "read-only"),
        ({"op": "add", "path": "/locations/-", "value": {}}, 403, "reserved"),
        ({"op": "add", "path": "/os_glance_x", "value": "y"}, 403, "reserved"),
        ({"op": "remove", "path": "/name"}, 403, "may not be removed"),
        ({"op": "replace", "path": "/missing", "value": "x"}, 409, "does not exist"),
        ({"op": "remove", "path": "/missing"}, 409, "does not exist"),
        ({"op": "move", "path": "/name", "value": "x"}, 400, "Invalid operation"),
        ({"op": "replace", "path": "name", "value": "x"}, 400, "does not start"),
        ({"op": "replace", "path": "/a/b", "value": "x"}, 400, "Invalid JSON pointer"),
        ({"op": "replace", "path": "/name"}, 400, "requires a member named"),
        ({"op": "replace", "path": "/visibility", "value": "world"}, 400, "visibility"),
        ({"op": "add", "path": "/prop", "value": 3}, 400, "string"),
        ({"path": "/name", "value": "x"}, 400, "Invalid operation"),
    ],
)
async def test_patch_refusals(
    cloud: Cloud, operation: dict[str, object], code: int, why: str
) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="refuse-patch")
        response = await patch(client, image["id"], operation)
        after = await show(client, image["id"])
    assert why in fault(response, code)
    assert after == image


async def test_patch_needs_the_patch_media_type(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="media-type")
        response = await client.patch(
            f"/v2/images/{image['id']}", json=[{"op": "remove", "path": "/x"}]
        )
        not_a_list = await client.patch(
            f"/v2/images/{image['id']}",
            json={"op": "remove"},
            headers={"content-type": "application/openstack-images-v2.1-json-patch"},
        )
    assert "application/openstack-images-v2.1-json-patch" in fault(response, 415)
    assert "JSON array" in fault(not_a_list, 400)


async def test_formats_are_frozen_once_data_exists(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="frozen", disk_format="raw", container_format="bare")
        await client.put(
            f"/v2/images/{image['id']}/file",
            content=b"data",
            headers={"content-type": "application/octet-stream"},
        )
        response = await patch(
            client, image["id"], {"op": "replace", "path": "/disk_format", "value": "qcow2"}
        )
    assert "only replaced for a queued image" in fault(response, 403)


async def test_tags(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="tagged", tags=["one"])
        added = await client.put(f"/v2/images/{image['id']}/tags/two")
        again = await client.put(f"/v2/images/{image['id']}/tags/two")
        removed = await client.delete(f"/v2/images/{image['id']}/tags/one")
        missing = await client.delete(f"/v2/images/{image['id']}/tags/one")
        too_long = await client.put(f"/v2/images/{image['id']}/tags/{'x' * 256}")
        tags = (await show(client, image["id"]))["tags"]
    assert added.status_code == again.status_code == removed.status_code == 204
    fault(missing, 404)
    fault(too_long, 400)
    assert tags == ["two"]


async def test_tag_limit_is_413(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="many-tags", tags=[f"t{i}" for i in range(128)])
        response = await client.put(f"/v2/images/{image['id']}/tags/one-more")
        too_many = await client.post("/v2/images", json={"tags": [f"t{i}" for i in range(129)]})
    fault(response, 413)
    fault(too_many, 413)


async def test_delete_and_protected(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="protected", protected=True)
        refused = await client.delete(f"/v2/images/{image['id']}")
        await patch(client, image["id"], {"op": "replace", "path": "/protected", "value": False})
        deleted = await client.delete(f"/v2/images/{image['id']}")
        gone = await client.get(f"/v2/images/{image['id']}")
        twice = await client.delete(f"/v2/images/{image['id']}")
    assert "protected" in fault(refused, 403)
    assert deleted.status_code == 204
    fault(gone, 404)
    fault(twice, 404)


async def test_deactivate_needs_an_active_image(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="never-active")
        response = await client.post(f"/v2/images/{image['id']}/actions/deactivate")
        reactivate = await client.post(f"/v2/images/{image['id']}/actions/reactivate")
    assert "status 'queued'" in fault(response, 403)
    fault(reactivate, 403)


async def test_schemas(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = (await client.get("/v2/schemas/image")).json()
        images = (await client.get("/v2/schemas/images")).json()
        member = (await client.get("/v2/schemas/member")).json()
        members = (await client.get("/v2/schemas/members")).json()
    assert image["name"] == "image" and image["additionalProperties"] == {"type": "string"}
    assert image["properties"]["status"]["readOnly"] is True
    assert "qcow2" in image["properties"]["disk_format"]["enum"]
    assert image["properties"]["os_distro"]["is_base"] is False
    assert images["properties"]["images"]["items"] == image
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert members["properties"]["members"]["items"] == member
