"""Flavors: listing and paging, the shapes each microversion gives, create/update/
delete, private flavors and their access lists, extra specs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.compute_helpers import (
    admin_client,
    fault,
    member_client,
    new_project,
    ok,
    project_id_of,
)
from tests.api.conftest import Cloud


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": fields.pop("name"), "ram": 256, "vcpus": 1, "disk": 1, **fields}
    return ok(await client.post("/v2.1/flavors", json={"flavor": body}))["flavor"]


async def test_standard_flavors_exist_on_a_fresh_cloud(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        flavors = ok(await client.get("/v2.1/flavors/detail"))["flavors"]
    tiny = next(f for f in flavors if f["name"] == "m1.tiny")
    assert tiny == {
        "id": "1",
        "name": "m1.tiny",
        "ram": 512,
        "disk": 1,
        "swap": "",
        "OS-FLV-EXT-DATA:ephemeral": 0,
        "OS-FLV-DISABLED:disabled": False,
        "vcpus": 1,
        "os-flavor-access:is_public": True,
        "rxtx_factor": 1.0,
        "links": [
            {"rel": "self", "href": "http://nimbus.test/v2.1/flavors/1"},
            {"rel": "bookmark", "href": "http://nimbus.test/flavors/1"},
        ],
    }
    assert {f["name"] for f in flavors} >= {
        f"m1.{s}" for s in ("tiny", "small", "medium", "large", "xlarge")
    }


async def test_shapes_by_microversion(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.54") as client:
        brief = ok(await client.get("/v2.1/flavors"))["flavors"][0]
        assert set(brief) == {"id", "name", "links"}
        assert "description" not in ok(await client.get("/v2.1/flavors/1"))["flavor"]
    async with await admin_client(cloud, "2.55") as client:
        brief = ok(await client.get("/v2.1/flavors"))["flavors"][0]
        assert set(brief) == {"id", "name", "links", "description"}
        assert "extra_specs" not in ok(await client.get("/v2.1/flavors/1"))["flavor"]
    async with await admin_client(cloud, "2.61") as client:
        shown = ok(await client.get("/v2.1/flavors/1"))["flavor"]
        assert shown["extra_specs"] == {} and shown["swap"] == ""
    async with await admin_client(cloud, "2.75") as client:
        assert ok(await client.get("/v2.1/flavors/1"))["flavor"]["swap"] == 0
        fault(await client.get("/v2.1/flavors", params={"bogus": "1"}), 400, "badRequest")
    async with await admin_client(cloud, "2.74") as client:
        ok(await client.get("/v2.1/flavors", params={"bogus": "1"}))


async def test_create_with_ids_auto_int_and_string(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.55") as client:
        auto = await create(client, name="auto-id", description="made by a test")
        assert len(auto["id"]) == 36 and auto["description"] == "made by a test"
        assert (await create(client, name="int-id", id=4242))["id"] == "4242"
        named = await create(client, name="named-id", id="small.one", swap=512, rxtx_factor="2.5")
        assert (named["id"], named["swap"], named["rxtx_factor"]) == ("small.one", 512, 2.5)
        typed = await create(client, name="strings", ram="1024", vcpus="2", disk="0")
        assert (typed["ram"], typed["vcpus"], typed["disk"]) == (1024, 2, 0)
        message = fault(
            await client.post(
                "/v2.1/flavors",
                json={"flavor": {"name": "int-id", "ram": 1, "vcpus": 1, "disk": 0}},
            ),
            409,
            "conflictingRequest",
        )
        assert message == "Flavor with name int-id already exists."
        response = await client.post(
            "/v2.1/flavors",
            json={"flavor": {"name": "again", "id": "4242", "ram": 1, "vcpus": 1, "disk": 0}},
        )
        assert fault(response, 409) == "Flavor with ID 4242 already exists."


async def test_create_refuses_bad_input(cloud: Cloud) -> None:
    good = {"name": "x-bad", "ram": 1, "vcpus": 1, "disk": 0}
    bad = [
        {"flavor": {**good, "ram": 0}},
        {"flavor": {**good, "vcpus": -1}},
        {"flavor": {**good, "ram": "lots"}},
        {"flavor": {**good, "ram": True}},
        {"flavor": {**good, "disk": 2**31}},
        {"flavor": {**good, "name": " padded"}},
        {"flavor": {**good, "name": ""}},
        {"flavor": {**good, "id": "bad/id"}},
        {"flavor": {**good, "rxtx_factor": 0}},
        {"flavor": {**good, "os-flavor-access:is_public": "maybe"}},
        {"flavor": {**good, "unknown": 1}},
        {"flavor": {**good, "description": "too new"}},
        {"flavor": {"name": "x", "ram": 1, "vcpus": 1}},
        {"flavour": good},
        [good],
    ]
    async with await admin_client(cloud) as client:
        for body in bad:
            message = fault(await client.post("/v2.1/flavors", json=body), 400, "badRequest")
            assert message, body
        response = await client.post("/v2.1/flavors", json={"flavor": {**good, "unknown": 1}})
        assert fault(response, 400) == (
            "Invalid input for field/attribute flavor. Value: "
            "{'name': 'x-bad', 'ram': 1, 'vcpus': 1, 'disk': 0, 'unknown': 1}. "
            "Additional properties are not allowed ('unknown' was unexpected)"
        )
        response = await client.post(
            "/v2.1/flavors", json={"flavor": {"name": "x", "ram": 1, "vcpus": 1}}
        )
        assert fault(response, 400).endswith("'disk' is a required property")


async def test_update_description_from_255_and_delete(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.55") as client:
        flavor = await create(client, name="describe-me")
        path = f"/v2.1/flavors/{flavor['id']}"
        updated = ok(await client.put(path, json={"flavor": {"description": "now described"}}))
        assert updated["flavor"]["description"] == "now described"
        fault(await client.put(path, json={"flavor": {"name": "renamed"}}), 400)
        fault(await client.put("/v2.1/flavors/nope", json={"flavor": {"description": "x"}}), 404)
    async with await admin_client(cloud, "2.54") as client:
        fault(await client.put(path, json={"flavor": {"description": "x"}}), 404)
        assert (await client.delete(path)).status_code == 202
        message = fault(await client.get(path), 404, "itemNotFound")
        assert message == f"Flavor {flavor['id']} could not be found."
        fault(await client.delete(path), 404)


async def test_list_filters_sorting_and_paging(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        for size in (1, 2, 3):
            await create(
                client, name=f"page-{size}", id=f"page-{size}", ram=100000 + size, disk=500 + size
            )
        big = ok(await client.get("/v2.1/flavors/detail", params={"minRam": 100002}))["flavors"]
        assert [f["id"] for f in big] == ["page-2", "page-3"]
        assert [
            f["id"]
            for f in ok(await client.get("/v2.1/flavors", params={"minDisk": 503}))["flavors"]
        ] == ["page-3"]
        fault(await client.get("/v2.1/flavors", params={"minRam": "x"}), 400)
        params = {"minRam": 100001, "limit": 2, "sort_key": "memory_mb", "sort_dir": "desc"}
        page = ok(await client.get("/v2.1/flavors", params=params))
        assert [f["id"] for f in page["flavors"]] == ["page-3", "page-2"]
        (link,) = page["flavors_links"]
        assert link["rel"] == "next" and "marker=page-2" in link["href"]
        assert link["href"].startswith("http://nimbus.test/v2.1/flavors?")
        rest = ok(await client.get("/v2.1/flavors", params={**params, "marker": "page-2"}))
        assert [f["id"] for f in rest["flavors"]] == ["page-1"]
        assert "flavors_links" not in rest
        assert (
            fault(await client.get("/v2.1/flavors", params={"marker": "nope"}), 400)
            == "marker [nope] not found"
        )
        fault(await client.get("/v2.1/flavors", params={"sort_key": "colour"}), 400)
        fault(await client.get("/v2.1/flavors", params={"limit": "-1"}), 400)


async def test_private_flavors_and_access(cloud: Cloud) -> None:
    project = await new_project(cloud, "flavor-guests")
    async with await admin_client(cloud, "2.7") as admin:
        private = await create(
            admin, name="private-one", id="private-one", **{"os-flavor-access:is_public": False}
        )
        path = f"/v2.1/flavors/{private['id']}"
        public_listing = ok(await admin.get("/v2.1/flavors"))["flavors"]
        assert "private-one" not in {f["id"] for f in public_listing}
        everything = ok(await admin.get("/v2.1/flavors", params={"is_public": "None"}))["flavors"]
        assert "private-one" in {f["id"] for f in everything}
        only_private = ok(await admin.get("/v2.1/flavors", params={"is_public": "false"}))[
            "flavors"
        ]
        assert {f["id"] for f in only_private} == {"private-one"}
        fault(await admin.get("/v2.1/flavors", params={"is_public": "perhaps"}), 400)
        assert ok(await admin.get(f"{path}/os-flavor-access")) == {"flavor_access": []}

        async with await member_client(cloud, "flavor-guest", project="flavor-guests") as guest:
            fault(await guest.get(path), 404, "itemNotFound")
            assert "private-one" not in {
                f["id"] for f in ok(await guest.get("/v2.1/flavors"))["flavors"]
            }
            granted = ok(
                await admin.post(f"{path}/action", json={"addTenantAccess": {"tenant": project}})
            )
            assert granted == {
                "flavor_access": [{"flavor_id": "private-one", "tenant_id": project}]
            }
            assert ok(await guest.get(path))["flavor"]["id"] == "private-one"
            listed = ok(await guest.get("/v2.1/flavors", params={"is_public": "false"}))["flavors"]
            assert "private-one" in {f["id"] for f in listed} and "1" in {f["id"] for f in listed}
            fault(await guest.get(f"{path}/os-flavor-access"), 403, "forbidden")
            fault(
                await guest.post(
                    f"{path}/action", json={"removeTenantAccess": {"tenant": project}}
                ),
                403,
            )

        fault(
            await admin.post(f"{path}/action", json={"addTenantAccess": {"tenant": project}}), 409
        )
        fault(await admin.post(f"{path}/action", json={"addTenantAccess": {"tenant": "nope"}}), 400)
        fault(
            await admin.post(
                "/v2.1/flavors/1/action", json={"addTenantAccess": {"tenant": project}}
            ),
            409,
        )
        fault(await admin.get("/v2.1/flavors/1/os-flavor-access"), 404)
        assert (
            fault(await admin.post(f"{path}/action", json={"dance": {}}), 400)
            == "There is no such action: dance"
        )
        admin_project = await project_id_of(cloud, "admin")
        action = {"addTenantAccess": {"tenant": admin_project}}
        ok(await admin.post(f"{path}/action", json=action))
        listed = ok(await admin.get("/v2.1/flavors"))["flavors"]
        assert "private-one" in {f["id"] for f in listed}  # granted counts as public
        action = {"removeTenantAccess": {"tenant": admin_project}}
        ok(await admin.post(f"{path}/action", json=action))
        removed = ok(
            await admin.post(f"{path}/action", json={"removeTenantAccess": {"tenant": project}})
        )
        assert removed == {"flavor_access": []}
        fault(
            await admin.post(f"{path}/action", json={"removeTenantAccess": {"tenant": project}}),
            404,
        )


async def test_members_cannot_manage_flavors(cloud: Cloud) -> None:
    async with await member_client(cloud, "flavor-member") as member:
        flavors = ok(await member.get("/v2.1/flavors/detail"))["flavors"]
        assert any(f["id"] == "1" for f in flavors)
        response = await member.post(
            "/v2.1/flavors", json={"flavor": {"name": "mine", "ram": 1, "vcpus": 1, "disk": 0}}
        )
        message = fault(response, 403, "forbidden")
        assert (
            message
            == "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed."
        )
        fault(await member.delete("/v2.1/flavors/1"), 403)
        fault(
            await member.post("/v2.1/flavors/1/os-extra_specs", json={"extra_specs": {"a": "b"}}),
            403,
        )
        ok(await member.get("/v2.1/flavors/1/os-extra_specs"))


async def test_extra_specs(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.86") as client:
        flavor = await create(client, name="specced", id="specced")
        specs = "/v2.1/flavors/specced/os-extra_specs"
        body = {"extra_specs": {"hw:cpu_policy": "dedicated", "resources:VGPU": 1, "custom": "x"}}
        assert ok(await client.post(specs, json=body)) == body
        assert ok(await client.get(specs))["extra_specs"] == {
            "hw:cpu_policy": "dedicated",
            "resources:VGPU": "1",
            "custom": "x",
        }
        assert ok(await client.get(f"{specs}/custom")) == {"custom": "x"}
        assert ok(await client.put(f"{specs}/custom", json={"custom": "y"})) == {"custom": "y"}
        assert (
            fault(await client.put(f"{specs}/custom", json={"other": "y"}), 400)
            == "Request body and URI mismatch"
        )
        fault(await client.put(f"{specs}/custom", json={"custom": "y", "other": "z"}), 400)
        message = fault(
            await client.post(specs, json={"extra_specs": {"hw:cpu_policy": "greedy"}}), 400
        )
        assert message == "Validation failed; 'greedy' is not one of: shared, dedicated, mixed."
        message = fault(await client.post(specs, json={"extra_specs": {"hw_rng:colour": "1"}}), 400)
        assert "does not appear to be a valid extra spec" in message
        fault(await client.post(specs, json={"extra_specs": {"bad/key": "1"}}), 400)
        fault(await client.post(specs, json={"extra_specs": {"k": True}}), 400)
        shown = ok(await client.get(f"/v2.1/flavors/{flavor['id']}"))["flavor"]
        assert shown["extra_specs"]["custom"] == "y"
        detail = ok(await client.get("/v2.1/flavors/detail", params={"minRam": 256}))["flavors"]
        assert next(f for f in detail if f["id"] == "specced")["extra_specs"]["custom"] == "y"
        assert (await client.delete(f"{specs}/custom")).status_code == 200
        message = fault(await client.get(f"{specs}/custom"), 404)
        assert message == "Flavor specced has no extra specs with key custom."
        fault(await client.delete(f"{specs}/custom"), 404)
    async with await admin_client(cloud, "2.85") as client:
        ok(await client.post(specs, json={"extra_specs": {"hw:cpu_policy": "greedy"}}))
