"""Routers (gateway, interfaces, routes) and floating IPs (allocate, associate, move)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Cloud
from tests.api.network_helpers import (
    admin_client,
    count,
    create,
    member_client,
    network_with_subnet,
    neutron_error,
    ok,
)


async def _public(client: httpx.AsyncClient) -> dict[str, Any]:
    (public,) = ok(await client.get("/v2.0/networks", params={"name": "public"}))["networks"]
    return public


async def _add(client: httpx.AsyncClient, router: dict[str, Any], **body: str) -> httpx.Response:
    return await client.put(f"/v2.0/routers/{router['id']}/add_router_interface", json=body)


async def _remove(client: httpx.AsyncClient, router: dict[str, Any], **body: str) -> httpx.Response:
    return await client.put(f"/v2.0/routers/{router['id']}/remove_router_interface", json=body)


async def test_gateway_interfaces_and_routes(cloud: Cloud) -> None:
    async with await member_client(cloud, "rt-alice", "rt-proj-a") as client:
        public = await _public(client)
        network, subnet = await network_with_subnet(client, "rt-net", "10.60.0.0/24")
        router = await create(client, "router", name="rt1")
        assert router["external_gateway_info"] is None and router["status"] == "ACTIVE"
        response = await client.put(
            f"/v2.0/routers/{router['id']}",
            json={"router": {"external_gateway_info": {"network_id": public["id"]}}},
        )
        gateway = ok(response)["router"]["external_gateway_info"]
        assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
        (external,) = gateway["external_fixed_ips"]
        assert external["ip_address"].startswith("172.24.4.")
        response = await client.put(
            f"/v2.0/routers/{router['id']}",
            json={"router": {"external_gateway_info": {"network_id": network["id"]}}},
        )
        neutron_error(response, 400, "BadRequest")
        response = await client.put(
            f"/v2.0/routers/{router['id']}",
            json={
                "router": {
                    "external_gateway_info": {"network_id": public["id"], "enable_snat": False}
                }
            },
        )
        neutron_error(response, 403, "PolicyNotAuthorized")

        info = ok(await _add(client, router, subnet_id=subnet["id"]))
        assert info["subnet_id"] == subnet["id"] and info["network_id"] == network["id"]
        assert info["id"] == router["id"] and info["subnet_ids"] == [subnet["id"]]
        interface = ok(await client.get(f"/v2.0/ports/{info['port_id']}"))["port"]
        assert interface["device_owner"] == "network:router_interface"
        assert interface["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.60.0.1"}]
        neutron_error(await _add(client, router, subnet_id=subnet["id"]), 400, "BadRequest")
        other = await create(client, "router", name="rt2")
        # The gateway address is taken by the first router.
        neutron_error(await _add(client, other, subnet_id=subnet["id"]), 409, "IpAddressInUse")

        extra = await create(client, "port", network_id=network["id"])
        by_port = ok(await _add(client, other, port_id=extra["id"]))
        assert by_port["port_id"] == extra["id"]
        response = await client.delete(f"/v2.0/ports/{extra['id']}")
        neutron_error(response, 409, "L3PortInUse")

        response = await client.put(
            f"/v2.0/routers/{router['id']}",
            json={
                "router": {"routes": [{"destination": "192.168.9.0/24", "nexthop": "10.60.0.9"}]}
            },
        )
        assert ok(response)["router"]["routes"] == [
            {"destination": "192.168.9.0/24", "nexthop": "10.60.0.9"}
        ]
        response = await client.put(
            f"/v2.0/routers/{router['id']}",
            json={
                "router": {"routes": [{"destination": "192.168.9.0/24", "nexthop": "10.99.0.9"}]}
            },
        )
        neutron_error(response, 400, "InvalidRoutes")

        neutron_error(await client.delete(f"/v2.0/routers/{router['id']}"), 409, "RouterInUse")
        neutron_error(await client.delete(f"/v2.0/networks/{network['id']}"), 409, "NetworkInUse")
        response = await _remove(client, router, subnet_id="not-a-subnet")
        neutron_error(response, 404, "SubnetNotFound")
        assert (
            ok(await _remove(client, router, subnet_id=subnet["id"]))["port_id"] == info["port_id"]
        )
        neutron_error(
            await _remove(client, router, subnet_id=subnet["id"]),
            404,
            "RouterInterfaceNotFoundForSubnet",
        )
        neutron_error(
            await _remove(client, router, port_id=extra["id"]), 404, "RouterInterfaceNotFound"
        )
        assert (await client.delete(f"/v2.0/routers/{router['id']}")).status_code == 204
        ports_left = ok(await client.get("/v2.0/ports", params={"device_id": router["id"]}))
        assert ports_left["ports"] == []


async def test_floating_ips(cloud: Cloud) -> None:
    async with (
        await member_client(cloud, "fip-alice", "fip-proj-a") as client,
        await member_client(cloud, "fip-bob", "fip-proj-b") as bob,
    ):
        public = await _public(client)
        network, subnet = await network_with_subnet(client, "fip-net", "10.61.0.0/24")
        router = await create(
            client, "router", name="fip-router", external_gateway_info={"network_id": public["id"]}
        )
        first = await create(client, "port", network_id=network["id"])
        second = await create(client, "port", network_id=network["id"])
        fip = await create(client, "floatingip", floating_network_id=public["id"])
        assert fip["status"] == "DOWN" and fip["port_id"] is None
        assert fip["floating_ip_address"].startswith("172.24.4.")

        # No router connects the subnet yet.
        response = await client.put(
            f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": first["id"]}}
        )
        neutron_error(response, 404, "ExternalGatewayForFloatingIPNotFound")
        ok(await _add(client, router, subnet_id=subnet["id"]))

        response = await client.put(
            f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": first["id"]}}
        )
        associated = ok(response)["floatingip"]
        assert associated["port_id"] == first["id"] and associated["router_id"] == router["id"]
        assert associated["fixed_ip_address"] == first["fixed_ips"][0]["ip_address"]

        other = await create(client, "floatingip", floating_network_id=public["id"])
        response = await client.put(
            f"/v2.0/floatingips/{other['id']}", json={"floatingip": {"port_id": first["id"]}}
        )
        neutron_error(response, 409, "FloatingIPPortAlreadyAssociated")
        neutron_error(
            await _remove(client, router, subnet_id=subnet["id"]),
            409,
            "RouterInterfaceInUseByFloatingIP",
        )

        moved = ok(
            await client.put(
                f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": second["id"]}}
            )
        )["floatingip"]
        assert moved["port_id"] == second["id"]
        cleared = ok(
            await client.put(
                f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}}
            )
        )["floatingip"]
        assert cleared["port_id"] is None and cleared["fixed_ip_address"] is None

        # An address already held (here: the router's gateway) cannot be asked for.
        async with await admin_client(cloud) as admin:
            gateway_ip = ok(await admin.get(f"/v2.0/routers/{router['id']}"))["router"][
                "external_gateway_info"
            ]["external_fixed_ips"][0]["ip_address"]
            before = await count(admin, "floatingips")
            response = await admin.post(
                "/v2.0/floatingips",
                json={
                    "floatingip": {
                        "floating_network_id": public["id"],
                        "floating_ip_address": gateway_ip,
                    }
                },
            )
            neutron_error(response, 409, "IpAddressInUse")
            assert await count(admin, "floatingips") == before
        response = await client.post(
            "/v2.0/floatingips",
            json={
                "floatingip": {
                    "floating_network_id": public["id"],
                    "floating_ip_address": "172.24.4.200",
                }
            },
        )
        neutron_error(response, 403, "PolicyNotAuthorized")
        response = await client.post(
            "/v2.0/floatingips", json={"floatingip": {"floating_network_id": network["id"]}}
        )
        neutron_error(response, 400, "BadRequest")
        neutron_error(await bob.get(f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
        response = await bob.put(
            f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}}
        )
        neutron_error(response, 404, "FloatingIPNotFound")
        response = await client.put(
            f"/v2.0/routers/{router['id']}", json={"router": {"external_gateway_info": {}}}
        )
        assert ok(response)["router"]["external_gateway_info"] is None
        assert (await client.delete(f"/v2.0/floatingips/{fip['id']}")).status_code == 204
        neutron_error(await client.get(f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")


async def test_deleting_an_external_network_releases_its_floating_ips(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        external = await create(client, "network", name="ext-gone", **{"router:external": True})
        await create(
            client, "subnet", network_id=external["id"], ip_version=4, cidr="198.51.100.0/24"
        )
        fip = await create(client, "floatingip", floating_network_id=external["id"])
        router = await create(
            client,
            "router",
            name="ext-gone-r",
            external_gateway_info={"network_id": external["id"]},
        )
        # The router's gateway still uses it.
        neutron_error(await client.delete(f"/v2.0/networks/{external['id']}"), 409, "NetworkInUse")
        response = await client.put(
            f"/v2.0/routers/{router['id']}", json={"router": {"external_gateway_info": None}}
        )
        assert ok(response)["router"]["external_gateway_info"] is None
        assert (await client.delete(f"/v2.0/networks/{external['id']}")).status_code == 204
        neutron_error(await client.get(f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
        listed = ok(await client.get("/v2.0/ports", params={"network_id": external["id"]}))
        assert listed["ports"] == []
