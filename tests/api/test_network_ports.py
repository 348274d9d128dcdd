"""Ports: MACs, IPAM (no duplicate address, even racing), ownership, security, and the
domain functions Nova and the network agent call."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from nimbus.cloud import Process
from nimbus.db.models.network import IpAllocation
from nimbus.network import ports as port_domain
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


async def test_mac_and_fixed_ips(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network, subnet = await network_with_subnet(client, "pt-basic", "10.50.0.0/24")
        _, v6 = await network_with_subnet(client, "pt-basic-v6", "fd00:50::/64")
        port = await create(client, "port", network_id=network["id"], name="p1")
        assert port["mac_address"].startswith("fa:16:3e:")
        assert port["status"] == "DOWN" and port["binding:vif_type"] == "unbound"
        assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.50.0.2"}]
        wanted = await create(
            client,
            "port",
            network_id=network["id"],
            fixed_ips=[{"ip_address": "10.50.0.77"}],
            mac_address="FA:16:3E:00:00:01",
        )
        assert wanted["fixed_ips"][0]["ip_address"] == "10.50.0.77"
        assert wanted["mac_address"] == "fa:16:3e:00:00:01"
        by_subnet = await create(
            client, "port", network_id=network["id"], fixed_ips=[{"subnet_id": subnet["id"]}]
        )
        assert by_subnet["fixed_ips"][0]["ip_address"] == "10.50.0.3"

        before = await count(client, "ports")
        response = await client.post(
            "/v2.0/ports",
            json={
                "port": {"network_id": network["id"], "fixed_ips": [{"ip_address": "10.50.0.77"}]}
            },
        )
        assert "10.50.0.77" in neutron_error(response, 409, "IpAddressInUse")
        response = await client.post(
            "/v2.0/ports",
            json={"port": {"network_id": network["id"], "mac_address": "fa:16:3e:00:00:01"}},
        )
        neutron_error(response, 409, "MacAddressInUse")
        for fixed in ({"ip_address": "10.99.0.1"}, {"subnet_id": v6["id"]}):
            response = await client.post(
                "/v2.0/ports", json={"port": {"network_id": network["id"], "fixed_ips": [fixed]}}
            )
            neutron_error(response, 400, "InvalidInput")
        response = await client.post(
            "/v2.0/ports", json={"port": {"network_id": network["id"], "mac_address": "zz"}}
        )
        neutron_error(response, 400, "InvalidInput")
        assert await count(client, "ports") == before

        response = await client.put(
            f"/v2.0/ports/{port['id']}",
            json={
                "port": {"fixed_ips": [{"ip_address": "10.50.0.2"}, {"ip_address": "10.50.0.9"}]}
            },
        )
        addresses = [ip["ip_address"] for ip in ok(response)["port"]["fixed_ips"]]
        assert addresses == ["10.50.0.2", "10.50.0.9"]
        listed = ok(await client.get("/v2.0/ports", params={"fixed_ips": "ip_address=10.50.0.9"}))
        assert [p["id"] for p in listed["ports"]] == [port["id"]]


async def test_exhausted_pool(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network, _ = await network_with_subnet(
            client,
            "pt-small",
            "10.51.0.0/24",
            allocation_pools=[{"start": "10.51.0.10", "end": "10.51.0.11"}],
        )
        for _ in range(2):
            await create(client, "port", network_id=network["id"])
        before = await count(client, "ports")
        response = await client.post("/v2.0/ports", json={"port": {"network_id": network["id"]}})
        assert network["id"] in neutron_error(response, 409, "IpAddressGenerationFailure")
        assert await count(client, "ports") == before


async def test_concurrent_creates_never_share_an_address(cloud: Cloud) -> None:
    """32 creates at once, half through a second API process's app (its own database
    engine and writer lock), so the writers really race in SQLite."""
    async with await admin_client(cloud) as client:
        network, _ = await network_with_subnet(client, "pt-race", "10.52.0.0/24")
    second = Process(cloud.process.settings, ())
    await second.prepare(migrate_schema=False)
    second_app = (await second.build_apps())["network"]
    token = await cloud.admin_token()

    def client_for(app: object) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        return httpx.AsyncClient(
            transport=transport, base_url="http://nimbus.test", headers={"X-Auth-Token": token}
        )

    try:
        async with client_for(cloud.apps["network"]) as one, client_for(second_app) as two:
            body = {"port": {"network_id": network["id"]}}
            responses = await asyncio.gather(
                *(c.post("/v2.0/ports", json=body) for c in [one, two] * 16)
            )
    finally:
        await second.bus.close()
        await second.db.close()
    assert [r.status_code for r in responses] == [201] * 32, [r.text for r in responses]
    addresses = [r.json()["port"]["fixed_ips"][0]["ip_address"] for r in responses]
    macs = [r.json()["port"]["mac_address"] for r in responses]
    assert len(set(addresses)) == 32 and len(set(macs)) == 32
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.52.0.0/24") for a in addresses)


async def test_the_database_refuses_a_duplicate_address(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network, _ = await network_with_subnet(client, "pt-unique", "10.53.0.0/24")
        port = await create(client, "port", network_id=network["id"])
    (fixed,) = port["fixed_ips"]
    with pytest.raises(IntegrityError):
        async with cloud.process.db.transaction() as session:
            session.add(
                IpAllocation(
                    network_id=network["id"],
                    ip_address=fixed["ip_address"],
                    port_id=port["id"],
                    subnet_id=fixed["subnet_id"],
                )
            )


async def test_ownership_and_attribute_policies(cloud: Cloud) -> None:
    async with (
        await admin_client(cloud) as admin,
        await member_client(cloud, "pt-alice", "pt-proj-a") as alice,
        await member_client(cloud, "pt-bob", "pt-proj-b") as bob,
    ):
        private, _ = await network_with_subnet(alice, "pt-private", "10.54.0.0/24")
        shared = await create(admin, "network", name="pt-shared", shared=True)
        await create(admin, "subnet", network_id=shared["id"], ip_version=4, cidr="10.55.0.0/24")
        before = await count(admin, "ports")
        response = await bob.post("/v2.0/ports", json={"port": {"network_id": private["id"]}})
        neutron_error(response, 404, "NetworkNotFound")
        assert await count(admin, "ports") == before

        mine = await create(bob, "port", network_id=shared["id"])
        assert "binding:host_id" not in mine and "binding:vnic_type" in mine
        assert len(mine["security_groups"]) == 1  # bob's project default group
        for body in (
            {"fixed_ips": [{"ip_address": "10.55.0.50"}]},
            {"mac_address": "fa:16:3e:11:22:33"},
            {"binding:host_id": "node1"},
            {"device_owner": "network:dhcp"},
        ):
            response = await bob.post(
                "/v2.0/ports", json={"port": {"network_id": shared["id"], **body}}
            )
            neutron_error(response, 403, "PolicyNotAuthorized")
        # The admin, owner of the shared network, sees bob's port; alice does not.
        assert ok(await admin.get(f"/v2.0/ports/{mine['id']}"))["port"]["binding:host_id"] == ""
        neutron_error(await alice.get(f"/v2.0/ports/{mine['id']}"), 404, "PortNotFound")


async def test_port_security_and_address_pairs(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network, _ = await network_with_subnet(client, "pt-sec", "10.56.0.0/24")
        port = await create(
            client,
            "port",
            network_id=network["id"],
            allowed_address_pairs=[{"ip_address": "10.56.0.200"}, {"ip_address": "10.60.0.0/24"}],
        )
        assert port["allowed_address_pairs"] == [
            {"ip_address": "10.56.0.200", "mac_address": port["mac_address"]},
            {"ip_address": "10.60.0.0/24", "mac_address": port["mac_address"]},
        ]
        bare = await create(client, "port", network_id=network["id"], port_security_enabled=False)
        assert bare["security_groups"] == [] and bare["port_security_enabled"] is False
        group = await create(client, "security_group", name="pt-sec-group")
        response = await client.post(
            "/v2.0/ports",
            json={
                "port": {
                    "network_id": network["id"],
                    "port_security_enabled": False,
                    "security_groups": [group["id"]],
                }
            },
        )
        neutron_error(response, 400, "PortSecurityAndIPRequiredForSecurityGroups")
        response = await client.put(
            f"/v2.0/ports/{port['id']}", json={"port": {"security_groups": [group["id"]]}}
        )
        assert ok(response)["port"]["security_groups"] == [group["id"]]
        response = await client.put(
            f"/v2.0/ports/{port['id']}", json={"port": {"port_security_enabled": False}}
        )
        neutron_error(response, 409, "AddressPairAndPortSecurityRequired")


async def test_agent_and_nova_functions(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        network, _ = await network_with_subnet(client, "pt-nova", "10.57.0.0/24")
        admin_project = network["project_id"]
    options = cloud.apps["network"].app.state.network_options
    async with cloud.process.db.transaction() as session:
        made = await port_domain.create_for_server(
            session, options, network_id=network["id"], project_id=admin_project, server_id="vm-1"
        )
        await port_domain.bind(session, made.id, "compute-7")
        await port_domain.set_status(session, made.id, "ACTIVE")
    async with cloud.process.db.reader() as session:
        (found,) = await port_domain.by_device(session, "vm-1")
        assert [p.id for p in await port_domain.on_host(session, "compute-7")] == [made.id]
    assert found.device_owner == "compute:nova" and found.status == "ACTIVE"
    async with await admin_client(cloud) as client:
        shown = ok(await client.get(f"/v2.0/ports/{made.id}"))["port"]
        assert shown["binding:host_id"] == "compute-7" and shown["binding:vif_type"] == "tap"
        assert shown["status"] == "ACTIVE" and shown["fixed_ips"][0]["ip_address"] == "10.57.0.2"
    async with cloud.process.db.transaction() as session:
        await port_domain.delete_for_device(session, "vm-1")
    async with await admin_client(cloud) as client:
        neutron_error(await client.get(f"/v2.0/ports/{made.id}"), 404, "PortNotFound")
