"""Servers on Neutron networks through the Compute API (fake hypervisor): ports made
or taken over at build, `addresses` and `security_groups` from them, interfaces
attached and detached, security groups added and removed, ports released at delete.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any

import httpx
import pytest

from tests.api.compute_helpers import add_instance, add_service, ok, project_id_of
from tests.api.compute_helpers import admin_client as compute_admin
from tests.api.conftest import Cloud
from tests.api.network_helpers import admin_client as network_admin
from tests.api.network_helpers import create, network_with_subnet
from tests.api.server_helpers import LATEST, active_image, boot, boot_ok, wait_status


@pytest.fixture(scope="module")
async def world(compute_cloud: Cloud) -> dict[str, Any]:
    """An image, net1 (10.20.0.0/24) routed to `public`, and a group `web`."""
    image = await active_image(compute_cloud, "networking-image")
    async with await network_admin(compute_cloud) as neutron:
        net, subnet = await network_with_subnet(neutron, "net1", "10.20.0.0/24")
        public = ok(await neutron.get("/v2.0/networks", params={"name": "public"}))["networks"][0]
        router = await create(
            neutron, "router", name="r1", external_gateway_info={"network_id": public["id"]}
        )
        added = await neutron.put(
            f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]}
        )
        ok(added)
        web = await create(neutron, "security_group", name="web")
    return {"image": image, "net": net, "subnet": subnet, "public": public, "web": web}


async def _port(neutron: httpx.AsyncClient, port_id: str) -> httpx.Response:
    return await neutron.get(f"/v2.0/ports/{port_id}")


async def _server_ports(neutron: httpx.AsyncClient, server_id: str) -> list[dict[str, Any]]:
    return ok(await neutron.get("/v2.0/ports", params={"device_id": server_id}))["ports"]


async def test_boot_on_a_network_makes_a_bound_port_and_shows_its_addresses(
    compute_cloud: Cloud, world: dict[str, Any]
) -> None:
    async with (
        await compute_admin(compute_cloud, LATEST) as nova,
        await network_admin(compute_cloud) as neutron,
    ):
        made = await boot_ok(
            nova,
            world["image"],
            "on-net1",
            networks=[{"uuid": world["net"]["id"]}],
            security_groups=[{"name": "web"}],
        )
        assert made["security_groups"] == [{"name": "web"}]
        server = await wait_status(nova, made["id"], "ACTIVE")
        (port,) = await _server_ports(neutron, made["id"])
        assert port["device_owner"] == "compute:nova"
        assert port["binding:host_id"] == server["OS-EXT-SRV-ATTR:host"]
        assert port["security_groups"] == [world["web"]["id"]]
        (address,) = server["addresses"]["net1"]
        assert address == {
            "version": 4,
            "addr": port["fixed_ips"][0]["ip_address"],
            "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
        }
        assert ipaddress.ip_address(address["addr"]) in ipaddress.ip_network("10.20.0.0/24")
        assert server["security_groups"] == [{"name": "web"}]
        ips = ok(await nova.get(f"/v2.1/servers/{made['id']}/ips"))["addresses"]
        assert ips["net1"][0]["addr"] == address["addr"]
        listed = ok(await nova.get("/v2.1/servers/detail", params={"name": "on-net1"}))
        assert listed["servers"][0]["addresses"] == server["addresses"]

        fip = await create(
            neutron,
            "floatingip",
            floating_network_id=world["public"]["id"],
            port_id=port["id"],
        )
        shown = ok(await nova.get(f"/v2.1/servers/{made['id']}"))["server"]
        kinds = {(a["addr"], a["OS-EXT-IPS:type"]) for a in shown["addresses"]["net1"]}
        assert kinds == {(address["addr"], "fixed"), (fip["floating_ip_address"], "floating")}

        assert (await nova.delete(f"/v2.1/servers/{made['id']}")).status_code == 204
        await _gone(nova, made["id"])
        assert (await _port(neutron, port["id"])).status_code == 404
        released = ok(await neutron.get(f"/v2.0/floatingips/{fip['id']}"))["floatingip"]
        assert released["port_id"] is None


async def _gone(nova: httpx.AsyncClient, server_id: str) -> None:
    for _ in range(200):
        if (await nova.get(f"/v2.1/servers/{server_id}")).status_code == 404:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"server {server_id} was not deleted")


async def test_boot_refuses_missing_networks_ports_groups_and_ports_in_use(
    compute_cloud: Cloud, world: dict[str, Any]
) -> None:
    async with (
        await compute_admin(compute_cloud, LATEST) as nova,
        await network_admin(compute_cloud) as neutron,
    ):
        missing = "6d1cbf5a-8a64-4f1e-9ab1-1f1b5d0e0000"
        for networks, code, message in (
            ([{"uuid": missing}], 400, f"Network {missing} could not be found."),
            ([{"port": missing}], 400, f"Port id {missing} could not be found."),
        ):
            refused = await boot(nova, world["image"], "refused", networks=networks)
            assert refused.status_code == code, refused.text
            assert refused.json()["badRequest"]["message"] == message
        refused = await boot(
            nova, world["image"], "refused", networks="auto", security_groups=[{"name": "nope"}]
        )
        assert refused.status_code == 400 and "Security group nope not found" in refused.text
        used = await create(neutron, "port", network_id=world["net"]["id"], device_id="other")
        refused = await boot(nova, world["image"], "refused", networks=[{"port": used["id"]}])
        assert refused.status_code == 409, refused.text
        assert refused.json()["conflictingRequest"]["message"] == (
            f"Port {used['id']} is still in use."
        )
        names = [s["name"] for s in ok(await nova.get("/v2.1/servers"))["servers"]]
        assert "refused" not in names


async def test_a_user_port_is_unbound_not_deleted_and_auto_picks_the_only_network(
    compute_cloud: Cloud, world: dict[str, Any]
) -> None:
    async with (
        await compute_admin(compute_cloud, LATEST) as nova,
        await network_admin(compute_cloud) as neutron,
    ):
        mine = await create(neutron, "port", network_id=world["net"]["id"], name="mine")
        made = await boot_ok(nova, world["image"], "with-port", networks=[{"port": mine["id"]}])
        await wait_status(nova, made["id"], "ACTIVE")
        bound = ok(await _port(neutron, mine["id"]))["port"]
        assert bound["device_id"] == made["id"] and bound["binding:host_id"]
        auto = await boot_ok(nova, world["image"], "auto", networks="auto")
        server = await wait_status(nova, auto["id"], "ACTIVE")
        assert list(server["addresses"]) == ["net1"]
        for uuid in (made["id"], auto["id"]):
            assert (await nova.delete(f"/v2.1/servers/{uuid}")).status_code == 204
            await _gone(nova, uuid)
        kept = ok(await _port(neutron, mine["id"]))["port"]
        assert (kept["device_id"], kept["device_owner"], kept["binding:host_id"]) == ("", "", "")
        assert await _server_ports(neutron, auto["id"]) == []


async def test_interfaces_attach_and_detach_and_security_groups_follow_actions(
    compute_cloud: Cloud, world: dict[str, Any]
) -> None:
    async with (
        await compute_admin(compute_cloud, LATEST) as nova,
        await network_admin(compute_cloud) as neutron,
    ):
        made = await boot_ok(nova, world["image"], "plugged", networks="none")
        await wait_status(nova, made["id"], "ACTIVE")
        base = f"/v2.1/servers/{made['id']}/os-interface"
        assert ok(await nova.get(base))["interfaceAttachments"] == []
        by_net = ok(
            await nova.post(
                base,
                json={
                    "interfaceAttachment": {
                        "net_id": world["net"]["id"],
                        "fixed_ips": [{"ip_address": "10.20.0.77"}],
                    }
                },
            )
        )["interfaceAttachment"]
        assert by_net["net_id"] == world["net"]["id"]
        assert by_net["fixed_ips"] == [
            {"subnet_id": world["subnet"]["id"], "ip_address": "10.20.0.77"}
        ]
        theirs = await create(neutron, "port", network_id=world["net"]["id"])
        by_port = ok(
            await nova.post(base, json={"interfaceAttachment": {"port_id": theirs["id"]}})
        )["interfaceAttachment"]
        assert by_port["port_id"] == theirs["id"] and by_port["mac_addr"] == theirs["mac_address"]
        listed = ok(await nova.get(base))["interfaceAttachments"]
        assert {i["port_id"] for i in listed} == {by_net["port_id"], theirs["id"]}
        shown = ok(await nova.get(f"{base}/{theirs['id']}"))["interfaceAttachment"]
        assert shown == by_port
        in_use = await nova.post(base, json={"interfaceAttachment": {"port_id": theirs["id"]}})
        assert in_use.status_code == 409, in_use.text

        action = f"/v2.1/servers/{made['id']}/action"
        added = await nova.post(action, json={"addSecurityGroup": {"name": "web"}})
        assert added.status_code == 202, added.text
        for port_id in (by_net["port_id"], theirs["id"]):
            groups = ok(await _port(neutron, port_id))["port"]["security_groups"]
            assert world["web"]["id"] in groups
        # As Nova: adding a group the ports have is no error, and they keep it once.
        again = await nova.post(action, json={"addSecurityGroup": {"name": "web"}})
        assert again.status_code == 202, again.text
        groups = ok(await _port(neutron, theirs["id"]))["port"]["security_groups"]
        assert groups.count(world["web"]["id"]) == 1
        unknown = await nova.post(action, json={"addSecurityGroup": {"name": "nope"}})
        assert unknown.status_code == 404, unknown.text
        removed = await nova.post(action, json={"removeSecurityGroup": {"name": "web"}})
        assert removed.status_code == 202, removed.text
        groups = ok(await _port(neutron, theirs["id"]))["port"]["security_groups"]
        assert world["web"]["id"] not in groups
        not_there = await nova.post(action, json={"removeSecurityGroup": {"name": "web"}})
        assert not_there.status_code == 404, not_there.text

        for port_id in (by_net["port_id"], theirs["id"]):
            assert (await nova.delete(f"{base}/{port_id}")).status_code == 202
        assert ok(await nova.get(base))["interfaceAttachments"] == []
        assert (await _port(neutron, by_net["port_id"])).status_code == 404
        assert ok(await _port(neutron, theirs["id"]))["port"]["device_id"] == ""
        gone = await nova.get(f"{base}/{theirs['id']}")
        assert gone.status_code == 404, gone.text
        assert (await nova.delete(f"/v2.1/servers/{made['id']}")).status_code == 204


async def test_a_server_deleted_while_its_host_is_down_releases_its_ports(
    compute_cloud: Cloud, world: dict[str, Any]
) -> None:
    await add_service(compute_cloud, "gone-host", seen_ago=3600)
    async with (
        await compute_admin(compute_cloud, LATEST) as nova,
        await network_admin(compute_cloud) as neutron,
    ):
        project = await project_id_of(compute_cloud, "admin")
        brought = await create(neutron, "port", network_id=world["net"]["id"])
        uuid = await add_instance(
            compute_cloud,
            project,
            host="gone-host",
            vm_state="active",
            system_metadata={"user_ports": json.dumps([brought["id"]])},
        )
        made = await create(neutron, "port", network_id=world["net"]["id"], device_id=uuid)
        bound = await neutron.put(
            f"/v2.0/ports/{brought['id']}", json={"port": {"device_id": uuid}}
        )
        ok(bound)
        assert (await nova.delete(f"/v2.1/servers/{uuid}")).status_code == 204
        assert (await _port(neutron, made["id"])).status_code == 404
        assert ok(await _port(neutron, brought["id"]))["port"]["device_id"] == ""


async def test_a_nic_the_hypervisor_refuses_releases_the_port_but_keeps_the_users(
    compute_cloud: Cloud, world: dict[str, Any]
) -> None:
    async with (
        await compute_admin(compute_cloud, LATEST) as nova,
        await network_admin(compute_cloud) as neutron,
    ):
        made = await boot_ok(nova, world["image"], "refusing", networks="none")
        server = await wait_status(nova, made["id"], "ACTIVE")
        (agent,) = [
            d
            for d in compute_cloud.process.daemons
            if getattr(d, "host", None) == server["OS-EXT-SRV-ATTR:host"] and hasattr(d, "driver")
        ]
        agent.driver.fail_on.add("attach_interface")
        try:
            base = f"/v2.1/servers/{made['id']}/os-interface"
            theirs = await create(neutron, "port", network_id=world["net"]["id"])
            for body in ({"port_id": theirs["id"]}, {"net_id": world["net"]["id"]}):
                refused = await nova.post(base, json={"interfaceAttachment": body})
                assert refused.status_code == 400, refused.text
        finally:
            agent.driver.fail_on.discard("attach_interface")
        assert await _server_ports(neutron, made["id"]) == []
        assert ok(await _port(neutron, theirs["id"]))["port"]["device_id"] == ""
        assert (await nova.delete(f"/v2.1/servers/{made['id']}")).status_code == 204
