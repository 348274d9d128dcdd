"""Networks: discovery, segments, visibility, policies, listing queries, bad input."""

from __future__ import annotations

from tests.api.conftest import Cloud
from tests.api.network_helpers import (
    admin_client,
    count,
    create,
    member_client,
    neutron_error,
    ok,
)


async def test_discovery_and_extensions(cloud: Cloud) -> None:
    async with cloud.client("network") as anonymous:
        versions = ok(await anonymous.get("/"))["versions"]
        assert versions == [
            {
                "id": "v2.0",
                "status": "CURRENT",
                "links": [{"href": "http://nimbus.test/v2.0/", "rel": "self"}],
            }
        ]
        assert (await anonymous.get("/v2.0/networks")).status_code == 401
    async with await admin_client(cloud) as client:
        collections = {r["collection"] for r in ok(await client.get("/v2.0/"))["resources"]}
        assert {"networks", "subnets", "ports", "routers", "floatingips"} <= collections
        aliases = {e["alias"] for e in ok(await client.get("/v2.0/extensions"))["extensions"]}
        assert {
            "router",
            "external-net",
            "extraroute",
            "security-group",
            "quotas",
            "provider",
            "binding",
            "allowed-address-pairs",
            "port-security",
            "standard-attr-tag",
            "availability_zone",
        } <= aliases
        assert ok(await client.get("/v2.0/extensions/router"))["extension"]["alias"] == "router"
        neutron_error(await client.get("/v2.0/extensions/nope"), 404, "ExtensionNotFound")
        assert ok(await client.get("/v2.0/agents")) == {"agents": []}
        zones = ok(await client.get("/v2.0/availability_zones"))["availability_zones"]
        assert {"name": "nova", "resource": "network", "state": "available"} in zones


async def test_bootstrap_made_the_public_network(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        public = ok(await client.get("/v2.0/networks", params={"name": "public"}))["networks"]
        assert len(public) == 1 and public[0]["router:external"] is True
        assert public[0]["provider:network_type"] == "flat"
        (subnet,) = ok(await client.get("/v2.0/subnets", params={"network_id": public[0]["id"]}))[
            "subnets"
        ]
        assert subnet["cidr"] == "172.24.4.0/24" and subnet["enable_dhcp"] is False


async def test_tenant_networks_get_vxlan_ids_from_the_range(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        first = await create(client, "network", name="seg-a")
        second = await create(client, "network", name="seg-b")
        assert first["provider:network_type"] == second["provider:network_type"] == "vxlan"
        assert first["mtu"] == 1450 and first["status"] == "ACTIVE"
        ids = {first["provider:segmentation_id"], second["provider:segmentation_id"]}
        assert len(ids) == 2 and all(1 <= i <= 1000 for i in ids)
        assert first["provider:physical_network"] is None
        taken = first["provider:segmentation_id"]
        response = await client.post(
            "/v2.0/networks",
            json={"network": {"provider:network_type": "vxlan", "provider:segmentation_id": taken}},
        )
        neutron_error(response, 409, "TunnelIdInUse")
        vlan = await create(
            client,
            "network",
            **{"provider:network_type": "vlan", "provider:physical_network": "physnet1"},
        )
        assert vlan["provider:segmentation_id"] == 1000 and vlan["mtu"] == 1500
        response = await client.post(
            "/v2.0/networks",
            json={
                "network": {
                    "provider:network_type": "vlan",
                    "provider:physical_network": "physnet1",
                    "provider:segmentation_id": 1000,
                }
            },
        )
        neutron_error(response, 409, "VlanIdInUse")
        flat = {"provider:network_type": "flat", "provider:physical_network": "public"}
        response = await client.post("/v2.0/networks", json={"network": flat})
        neutron_error(response, 409, "FlatNetworkInUse")
        response = await client.post(
            "/v2.0/networks", json={"network": {"provider:network_type": "gre"}}
        )
        neutron_error(response, 400, "InvalidInput")
        response = await client.post("/v2.0/networks", json={"network": {"mtu": 9000}})
        assert "too big" in neutron_error(response, 400, "InvalidInput")


async def test_member_sees_own_shared_and_external_but_not_others(cloud: Cloud) -> None:
    async with (
        await admin_client(cloud) as admin,
        await member_client(cloud, "net-alice", "net-proj-a") as alice,
        await member_client(cloud, "net-bob", "net-proj-b") as bob,
    ):
        private = await create(alice, "network", name="alice-private")
        assert "provider:network_type" not in private  # admin-only attributes hidden
        shared = await create(admin, "network", name="everyone", shared=True)
        visible = {n["name"] for n in ok(await bob.get("/v2.0/networks"))["networks"]}
        assert {"everyone", "public"} <= visible and "alice-private" not in visible
        missing = await bob.get(f"/v2.0/networks/{private['id']}")
        assert private["id"] in neutron_error(missing, 404, "NetworkNotFound")
        neutron_error(await bob.delete(f"/v2.0/networks/{private['id']}"), 404, "NetworkNotFound")
        response = await bob.put(
            f"/v2.0/networks/{private['id']}", json={"network": {"name": "stolen"}}
        )
        neutron_error(response, 404, "NetworkNotFound")
        # A shared network is visible, so changing it is "not allowed", not "not found".
        response = await bob.delete(f"/v2.0/networks/{shared['id']}")
        neutron_error(response, 403, "PolicyNotAuthorized")
        for attributes in (
            {"shared": True},
            {"router:external": True},
            {"provider:network_type": "vxlan"},
        ):
            response = await alice.post("/v2.0/networks", json={"network": attributes})
            neutron_error(response, 403, "PolicyNotAuthorized")
        response = await alice.post(
            "/v2.0/networks", json={"network": {"name": "x", "project_id": "someone-else"}}
        )
        neutron_error(response, 403, "PolicyNotAuthorized")
        assert ok(await alice.get(f"/v2.0/networks/{private['id']}"))["network"]["name"] == (
            "alice-private"
        )


async def test_update_and_delete(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network = await create(client, "network", name="upd", description="first")
        response = await client.put(
            f"/v2.0/networks/{network['id']}",
            json={"network": {"name": "upd2", "admin_state_up": False, "mtu": 1400}},
        )
        updated = ok(response)["network"]
        assert (updated["name"], updated["admin_state_up"], updated["mtu"]) == ("upd2", False, 1400)
        assert updated["revision_number"] == network["revision_number"] + 1
        assert updated["description"] == "first"
        response = await client.put(
            f"/v2.0/networks/{network['id']}",
            json={"network": {"provider:segmentation_id": 7}},
        )
        neutron_error(response, 400, "InvalidInput")
        assert (await client.delete(f"/v2.0/networks/{network['id']}")).status_code == 204
        gone = await client.get(f"/v2.0/networks/{network['id']}")
        neutron_error(gone, 404, "NetworkNotFound")


async def test_bad_input_is_refused_and_writes_nothing(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        before = await count(client, "networks")
        for content in (b"{not json", b"[]", b'{"network": []}', b"", b'{"networks": [{"x": 1}]}'):
            response = await client.post(
                "/v2.0/networks", content=content, headers={"content-type": "application/json"}
            )
            neutron_error(response, 400, "HTTPBadRequest")
        bodies = [
            {"name": "u", "unknown_attribute": 1},
            {"name": 7},
            {"admin_state_up": "yes"},
            {"provider:segmentation_id": "ten"},
        ]
        for body in bodies:
            response = await client.post("/v2.0/networks", json={"network": body})
            neutron_error(response, 400, "HTTPBadRequest")
        # A bulk request with one bad member creates none of them.
        response = await client.post(
            "/v2.0/networks",
            json={"networks": [{"name": "bulk-ok"}, {"provider:network_type": "nope"}]},
        )
        neutron_error(response, 400, "InvalidInput")
        assert await count(client, "networks") == before
        neutron_error(await client.patch("/v2.0/networks"), 405, "HTTPMethodNotAllowed")
        neutron_error(await client.get("/v2.0/nothing-here"), 404, "HTTPNotFound")


async def test_bulk_filters_sorting_paging_and_fields(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        response = await client.post(
            "/v2.0/networks",
            json={
                "networks": [
                    {"name": "page-3", "admin_state_up": False, "tags": ["red"]},
                    {"name": "page-1", "tags": ["red", "blue"]},
                    {"name": "page-2", "description": "two"},
                ]
            },
        )
        made = ok(response, 201)["networks"]
        assert [n["name"] for n in made] == ["page-3", "page-1", "page-2"]

        async def names(**params: object) -> list[str]:
            found = ok(await client.get("/v2.0/networks", params=params))["networks"]
            return [n["name"] for n in found if n["name"].startswith("page-")]

        assert await names(name=["page-1", "page-2"]) == ["page-1", "page-2"]
        assert await names(admin_state_up="False") == ["page-3"]
        assert await names(description="two") == ["page-2"]
        assert await names(tags="red") == ["page-3", "page-1"]
        assert await names(tags="red,blue") == ["page-1"]
        assert await names(**{"not-tags-any": "red"}) == ["page-2"]
        assert await names(sort_key="name", sort_dir="desc") == ["page-3", "page-2", "page-1"]
        only = ok(
            await client.get("/v2.0/networks", params={"fields": ["id", "name"], "name": "page-1"})
        )["networks"]
        assert only == [{"id": made[1]["id"], "name": "page-1"}]
        shown = ok(await client.get(f"/v2.0/networks/{made[0]['id']}", params={"fields": "mtu"}))
        assert shown == {"network": {"mtu": 1450}}

        params = {"sort_key": "name", "sort_dir": "asc", "limit": 2}
        params_names = {"name": ["page-1", "page-2", "page-3"]}
        first = ok(await client.get("/v2.0/networks", params={**params, **params_names}))
        assert [n["name"] for n in first["networks"]] == ["page-1", "page-2"]
        (link,) = first["networks_links"]
        assert link["rel"] == "next"
        second = ok(await client.get(link["href"].replace("http://nimbus.test", "")))
        assert [n["name"] for n in second["networks"]] == ["page-3"]
        assert [ln["rel"] for ln in second["networks_links"]] == ["previous"]
        back = second["networks_links"][0]["href"].replace("http://nimbus.test", "")
        assert [n["name"] for n in ok(await client.get(back))["networks"]] == ["page-1", "page-2"]

        response = await client.get("/v2.0/networks", params={"sort_key": "nope"})
        neutron_error(response, 400, "HTTPBadRequest")
        response = await client.get("/v2.0/networks", params={"limit": "many"})
        neutron_error(response, 400, "HTTPBadRequest")


async def test_tags_api(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network = await create(client, "network", name="tagged")
        base = f"/v2.0/networks/{network['id']}/tags"
        assert ok(await client.put(base, json={"tags": ["a", "b"]})) == {"tags": ["a", "b"]}
        assert (await client.put(f"{base}/c")).status_code == 201
        assert (await client.get(f"{base}/c")).status_code == 204
        neutron_error(await client.get(f"{base}/zzz"), 404, "TagNotFound")
        assert (await client.delete(f"{base}/a")).status_code == 204
        assert ok(await client.get(base)) == {"tags": ["b", "c"]}
        assert (await client.delete(base)).status_code == 204
        assert ok(await client.get(f"/v2.0/networks/{network['id']}"))["network"]["tags"] == []
