"""Subnets: defaults, IPv4 and IPv6, and every kind of bad range refused untouched."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Cloud
from tests.api.network_helpers import admin_client, count, create, neutron_error, ok


async def test_defaults_gateway_pools_and_dhcp(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network = await create(client, "network", name="sn-default")
        subnet = await create(
            client, "subnet", network_id=network["id"], ip_version=4, cidr="10.20.0.0/24"
        )
        assert subnet["gateway_ip"] == "10.20.0.1" and subnet["enable_dhcp"] is True
        assert subnet["allocation_pools"] == [{"start": "10.20.0.2", "end": "10.20.0.254"}]
        assert subnet["dns_nameservers"] == [] and subnet["host_routes"] == []
        shown = ok(await client.get(f"/v2.0/networks/{network['id']}"))["network"]
        assert shown["subnets"] == [subnet["id"]]

        no_gateway = await create(
            client,
            "subnet",
            network_id=network["id"],
            ip_version=4,
            cidr="10.21.0.0/29",
            gateway_ip=None,
        )
        assert no_gateway["gateway_ip"] is None
        assert no_gateway["allocation_pools"] == [{"start": "10.21.0.1", "end": "10.21.0.6"}]

        middle = await create(
            client,
            "subnet",
            network_id=network["id"],
            ip_version=4,
            cidr="10.22.0.0/28",
            gateway_ip="10.22.0.5",
            dns_nameservers=["8.8.8.8", "1.1.1.1"],
            host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.22.0.9"}],
        )
        assert middle["allocation_pools"] == [
            {"start": "10.22.0.1", "end": "10.22.0.4"},
            {"start": "10.22.0.6", "end": "10.22.0.14"},
        ]
        assert middle["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]


async def test_ipv6_subnets(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network = await create(client, "network", name="sn-v6")
        stateful = await create(
            client, "subnet", network_id=network["id"], ip_version=6, cidr="fd00:1::/64"
        )
        assert stateful["gateway_ip"] == "fd00:1::1"
        assert stateful["allocation_pools"] == [
            {"start": "fd00:1::2", "end": "fd00:1::ffff:ffff:ffff:ffff"}
        ]
        slaac = await create(
            client,
            "subnet",
            network_id=network["id"],
            ip_version=6,
            cidr="fd00:2::/64",
            ipv6_ra_mode="slaac",
            ipv6_address_mode="slaac",
        )
        assert slaac["ipv6_address_mode"] == "slaac"
        response = await client.post(
            "/v2.0/subnets",
            json={
                "subnet": {
                    "network_id": network["id"],
                    "ip_version": 6,
                    "cidr": "fd00:3::/64",
                    "ipv6_ra_mode": "slaac",
                    "ipv6_address_mode": "dhcpv6-stateful",
                }
            },
        )
        neutron_error(response, 400, "InvalidInput")


async def test_bad_ranges_are_refused_and_change_nothing(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network = await create(client, "network", name="sn-bad")
        await create(client, "subnet", network_id=network["id"], ip_version=4, cidr="10.30.0.0/24")
        before = await count(client, "subnets")

        async def refused(code: int, kind: str, **subnet: Any) -> str:
            body = {"network_id": network["id"], "ip_version": 4, **subnet}
            response = await client.post("/v2.0/subnets", json={"subnet": body})
            return neutron_error(response, code, kind)

        assert "overlaps" in await refused(400, "InvalidInput", cidr="10.30.0.128/25")
        await refused(400, "InvalidInput", cidr="10.31.0.0/33")
        await refused(400, "InvalidInput", cidr="not-a-cidr")
        assert "10.32.0.0/24" in await refused(400, "InvalidInput", cidr="10.32.0.5/24")
        await refused(400, "InvalidInput", cidr="fd00::/64")  # version mismatch
        await refused(400, "InvalidInput", cidr="10.33.0.0/24", gateway_ip="10.99.0.1")
        await refused(400, "InvalidInput", cidr="10.33.0.0/24", gateway_ip="10.33.0.255")
        await refused(
            400,
            "OutOfBoundsAllocationPool",
            cidr="10.34.0.0/24",
            allocation_pools=[{"start": "10.34.0.10", "end": "10.34.1.10"}],
        )
        await refused(
            400,
            "InvalidAllocationPool",
            cidr="10.34.0.0/24",
            allocation_pools=[{"start": "10.34.0.50", "end": "10.34.0.10"}],
        )
        await refused(
            409,
            "OverlappingAllocationPools",
            cidr="10.34.0.0/24",
            allocation_pools=[
                {"start": "10.34.0.10", "end": "10.34.0.20"},
                {"start": "10.34.0.15", "end": "10.34.0.30"},
            ],
        )
        await refused(
            409,
            "GatewayConflictWithAllocationPools",
            cidr="10.34.0.0/24",
            gateway_ip="10.34.0.15",
            allocation_pools=[{"start": "10.34.0.10", "end": "10.34.0.20"}],
        )
        await refused(400, "InvalidInput", cidr="10.35.0.0/24", dns_nameservers=["nope"])
        await refused(
            400,
            "InvalidInput",
            cidr="10.35.0.0/24",
            host_routes=[{"destination": "fd00::/64", "nexthop": "10.35.0.1"}],
        )
        response = await client.post(
            "/v2.0/subnets",
            json={"subnet": {"network_id": "missing", "ip_version": 4, "cidr": "10.36.0.0/24"}},
        )
        neutron_error(response, 404, "NetworkNotFound")
        response = await client.post(
            "/v2.0/subnets", json={"subnet": {"network_id": network["id"], "cidr": "10.37.0.0/24"}}
        )
        neutron_error(response, 400, "HTTPBadRequest")
        assert await count(client, "subnets") == before


async def test_update_and_delete_in_use(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network = await create(client, "network", name="sn-upd")
        subnet = await create(
            client, "subnet", network_id=network["id"], ip_version=4, cidr="10.40.0.0/24"
        )
        response = await client.put(
            f"/v2.0/subnets/{subnet['id']}",
            json={
                "subnet": {
                    "name": "renamed",
                    "dns_nameservers": ["9.9.9.9"],
                    "allocation_pools": [{"start": "10.40.0.100", "end": "10.40.0.200"}],
                }
            },
        )
        updated = ok(response)["subnet"]
        assert updated["name"] == "renamed" and updated["dns_nameservers"] == ["9.9.9.9"]
        assert updated["allocation_pools"] == [{"start": "10.40.0.100", "end": "10.40.0.200"}]
        response = await client.put(
            f"/v2.0/subnets/{subnet['id']}", json={"subnet": {"cidr": "10.41.0.0/24"}}
        )
        neutron_error(response, 400, "HTTPBadRequest")
        response = await client.put(
            f"/v2.0/subnets/{subnet['id']}", json={"subnet": {"gateway_ip": "10.40.0.150"}}
        )
        neutron_error(response, 409, "GatewayConflictWithAllocationPools")

        port = await create(client, "port", network_id=network["id"])
        assert port["fixed_ips"][0]["ip_address"] == "10.40.0.100"
        neutron_error(await client.delete(f"/v2.0/subnets/{subnet['id']}"), 409, "SubnetInUse")
        assert (await client.delete(f"/v2.0/ports/{port['id']}")).status_code == 204
        assert (await client.delete(f"/v2.0/subnets/{subnet['id']}")).status_code == 204
        neutron_error(await client.get(f"/v2.0/subnets/{subnet['id']}"), 404, "SubnetNotFound")


async def test_subnet_pools(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        pool = await create(
            client,
            "subnetpool",
            name="pool-a",
            prefixes=["10.80.0.0/24", "10.80.1.0/24"],
            default_prefixlen=26,
        )
        assert pool["prefixes"] == ["10.80.0.0/23"] and pool["ip_version"] == 4
        assert (pool["min_prefixlen"], pool["max_prefixlen"]) == (8, 32)
        network = await create(client, "network", name="pool-net")

        async def carve(**subnet: Any) -> dict[str, Any]:
            body = {"network_id": network["id"], "ip_version": 4, "subnetpool_id": pool["id"]}
            return await create(client, "subnet", **body, **subnet)

        first = await carve()
        assert first["cidr"] == "10.80.0.0/26" and first["subnetpool_id"] == pool["id"]
        second = await carve(prefixlen=24)
        assert second["cidr"] == "10.80.1.0/24"
        third = await carve(cidr="10.80.0.64/27")
        assert third["gateway_ip"] == "10.80.0.65"
        for body, kind in (
            ({"cidr": "10.81.0.0/24"}, "SubnetAllocationError"),
            ({"cidr": "10.80.0.0/28"}, "SubnetAllocationError"),
            ({"prefixlen": 23}, "SubnetAllocationError"),
            ({"prefixlen": 4}, "SubnetAllocationError"),
        ):
            response = await client.post(
                "/v2.0/subnets",
                json={
                    "subnet": {
                        "network_id": network["id"],
                        "ip_version": 4,
                        "subnetpool_id": pool["id"],
                        **body,
                    }
                },
            )
            neutron_error(response, 409, kind)
        response = await client.post(
            "/v2.0/subnets", json={"subnet": {"network_id": network["id"], "ip_version": 4}}
        )
        neutron_error(response, 400, "BadRequest")

        response = await client.put(
            f"/v2.0/subnetpools/{pool['id']}", json={"subnetpool": {"prefixes": ["10.90.0.0/24"]}}
        )
        neutron_error(response, 400, "InvalidInput")
        grown = ok(
            await client.put(
                f"/v2.0/subnetpools/{pool['id']}",
                json={"subnetpool": {"prefixes": ["10.80.0.0/22"], "name": "pool-b"}},
            )
        )["subnetpool"]
        assert grown["prefixes"] == ["10.80.0.0/22"] and grown["name"] == "pool-b"
        neutron_error(
            await client.delete(f"/v2.0/subnetpools/{pool['id']}"), 409, "SubnetPoolInUse"
        )
        for subnet in (first, second, third):
            assert (await client.delete(f"/v2.0/subnets/{subnet['id']}")).status_code == 204
        assert (await client.delete(f"/v2.0/subnetpools/{pool['id']}")).status_code == 204
        neutron_error(
            await client.get(f"/v2.0/subnetpools/{pool['id']}"), 404, "SubnetPoolNotFound"
        )
