"""From network rows to one host's desired data plane (no kernel objects: only the
database, filled through the Neutron API), the DHCP ports the agent adds, the change
counter it watches, and when `nimbus up` runs it at all."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nimbus import cloud as cloud_module
from nimbus.config import Settings
from nimbus.db import changes
from nimbus.netdev.commands import NetdevError
from nimbus.netdev.model import DHCP, Topology
from nimbus.network import topology, wiring
from nimbus.network.options import NetworkOptions
from nimbus.services.base import halt, launch
from nimbus.services.network import AgentOptions, NetworkAgent
from nimbus.services.runner import deps_for
from tests.api.conftest import Cloud, start_cloud
from tests.api.network_helpers import admin_client, create, network_with_subnet


@pytest.fixture(scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cloud]:
    made, process = await start_cloud(tmp_path_factory.mktemp("topology"))
    async with process.db.transaction() as session:
        await changes.ensure(session, changes.NETWORK)
    yield made
    await process.bus.close()
    await process.db.close()


@pytest.fixture(scope="module")
async def rows(cloud: Cloud) -> AsyncIterator[dict[str, Any]]:
    """net1 with a web group's port on host h1 and one on h2; a router with a gateway on
    `public`, a floating IP to the h1 port."""
    client = await admin_client(cloud)
    net1, sub1 = await network_with_subnet(client, "net1", "10.9.0.0/24")
    web = await create(client, "security_group", name="web")
    rule = {"security_group_id": web["id"], "direction": "ingress", "remote_group_id": web["id"]}
    await create(client, "security_group_rule", **rule)
    on_h1 = await create(
        client,
        "port",
        network_id=net1["id"],
        security_groups=[web["id"]],
        **{"binding:host_id": "h1"},
    )
    on_h2 = await create(
        client,
        "port",
        network_id=net1["id"],
        security_groups=[web["id"]],
        **{"binding:host_id": "h2"},
    )
    public = (await client.get("/v2.0/networks", params={"name": "public"})).json()["networks"][0]
    router = await create(
        client, "router", name="r1", external_gateway_info={"network_id": public["id"]}
    )
    await client.put(
        f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": sub1["id"]}
    )
    fip = await create(client, "floatingip", floating_network_id=public["id"], port_id=on_h1["id"])
    yield {"client": client, "net1": net1, "sub1": sub1, "web": web, "h1": on_h1, "h2": on_h2,
           "public": public, "router": router, "fip": fip}  # fmt: skip
    await client.aclose()


async def read(cloud: Cloud, placement: topology.Placement) -> topology.HostView:
    async with cloud.process.db.reader() as session:
        return await topology.read(session, placement)


async def test_all_in_one_serves_everything(cloud: Cloud, rows: dict[str, Any]) -> None:
    view = await read(cloud, topology.Placement())
    plane = view.topology
    assert {n.id for n in plane.networks} == {rows["net1"]["id"], rows["public"]["id"]}
    net1 = plane.network(rows["net1"]["id"])
    assert (net1.network_type, net1.segmentation_id, net1.mtu) == ("flat", None, 1450)
    assert [s.cidr for s in net1.subnets] == ["10.9.0.0/24"]
    port_ids = {p.id for p in plane.ports}
    assert {rows["h1"]["id"], rows["h2"]["id"]} <= port_ids
    owners = sorted(p.device_owner for p in plane.ports if p.device_owner.startswith("network:"))
    assert owners == ["network:router_gateway", "network:router_interface"]
    assert [r.id for r in plane.routers] == [rows["router"]["id"]]
    fixed = rows["h1"]["fixed_ips"][0]["ip_address"]
    [fip] = plane.floating_ips
    assert (fip.floating_ip_address, fip.fixed_ip_address) == (
        rows["fip"]["floating_ip_address"],
        fixed,
    )
    assert view.floating_ip_ids == (rows["fip"]["id"],)
    assert view.host_addresses == {rows["public"]["id"]: "172.24.4.1/24"}
    web = next(g for g in plane.security_groups if g.id == rows["web"]["id"])
    members = {rows[h]["fixed_ips"][0]["ip_address"] for h in ("h1", "h2")}
    assert set(web.member_ips) == members
    assert any(rule.remote_group_id == web.id for rule in web.rules)
    assert view == await read(cloud, topology.Placement()), "the same rows, the same view"


async def test_floating_ip_ports_are_not_on_the_wire(cloud: Cloud, rows: dict[str, Any]) -> None:
    plane = (await read(cloud, topology.Placement())).topology
    assert not [p for p in plane.ports if p.device_owner == "network:floatingip"]


async def test_segments_follow_what_the_host_can_carry(cloud: Cloud, rows: dict[str, Any]) -> None:
    placement = topology.Placement(vxlan=True, physical_interfaces={"public": "eth9"})
    plane = (await read(cloud, placement)).topology
    net1 = plane.network(rows["net1"]["id"])
    assert net1.network_type == "vxlan"
    assert net1.segmentation_id == rows["net1"]["provider:segmentation_id"]
    public = plane.network(rows["public"]["id"])
    assert (public.network_type, public.physical_network) == ("flat", "public")


async def test_a_compute_host_serves_its_own_ports(cloud: Cloud, rows: dict[str, Any]) -> None:
    view = await read(cloud, topology.Placement(host="h2", network_node=False))
    plane = view.topology
    assert [p.id for p in plane.ports] == [rows["h2"]["id"]]
    assert [n.id for n in plane.networks] == [rows["net1"]["id"]]
    assert plane.routers == () and plane.floating_ips == () and view.host_addresses == {}
    [web] = [g for g in plane.security_groups if g.id == rows["web"]["id"]]
    assert rows["h1"]["fixed_ips"][0]["ip_address"] in web.member_ips, "remote members count"


async def test_dhcp_ports_are_created_once_and_follow_new_subnets(
    cloud: Cloud, rows: dict[str, Any]
) -> None:
    client: httpx.AsyncClient = rows["client"]
    options = NetworkOptions()
    async with cloud.process.db.transaction() as session:
        assert await wiring.ensure_dhcp_ports(session, options, "h1") == 1  # net1 only
    async with cloud.process.db.transaction() as session:
        assert await wiring.ensure_dhcp_ports(session, options, "h1") == 0
    await create(client, "subnet", network_id=rows["net1"]["id"], ip_version=4,
                 cidr="10.10.0.0/24")  # fmt: skip
    async with cloud.process.db.transaction() as session:
        assert await wiring.ensure_dhcp_ports(session, options, "h1") == 1
    listed = await client.get(
        "/v2.0/ports", params={"device_owner": DHCP, "network_id": rows["net1"]["id"]}
    )
    [port] = listed.json()["ports"]
    assert port["device_id"] == wiring.dhcp_device_id(rows["net1"]["id"])
    assert sorted(ip["ip_address"].rsplit(".", 2)[0] for ip in port["fixed_ips"]) == [
        "10.10",
        "10.9",
    ]


async def test_network_writes_move_the_network_counter(cloud: Cloud, rows: dict[str, Any]) -> None:
    async with cloud.process.db.reader() as session:
        before = await changes.current(session, changes.NETWORK)
    await create(rows["client"], "network", name="counted")
    async with cloud.process.db.reader() as session:
        after = await changes.current(session, changes.NETWORK)
    assert after == before + 1
    async with cloud.process.db.transaction() as session:
        await changes.ensure(session, changes.NETWORK)  # a second ensure keeps the count
        assert await changes.current(session, changes.NETWORK) == after


async def test_nimbus_up_runs_the_agent_only_with_real_guests(tmp_path: Path) -> None:
    fake = Settings(data_dir=tmp_path)
    assert cloud_module.NETWORK_AGENT not in await cloud_module._with_dataplane(fake, True)
    qemu = Settings(data_dir=tmp_path)
    qemu.compute.driver = "qemu"
    assert cloud_module.NETWORK_AGENT not in await cloud_module._with_dataplane(qemu, False)
    wanted = await cloud_module._with_dataplane(qemu, True)
    assert (cloud_module.NETWORK_AGENT in wanted) == (os.geteuid() == 0)


async def test_an_agent_whose_host_refuses_keeps_running_and_retries(
    cloud: Cloud, tmp_path: Path
) -> None:
    """Last (its passes add DHCP ports). A host that refuses changes (no root, a tool
    missing) must not take the cloud down with it: the agent starts and tries again."""
    process = cloud.process
    deps = deps_for(process.db, process.bus, process.settings.compute, tmp_path, 60)
    options = AgentOptions(
        tag="u0000", state_dir=tmp_path, host="h1", registry=None, retry_interval=0.05
    )
    agent = NetworkAgent(deps, options, NetworkOptions())
    attempts: list[Topology] = []

    async def refuse(topology: Topology) -> None:
        attempts.append(topology)
        raise NetdevError("ip: Operation not permitted")

    agent.plane.apply = refuse  # type: ignore[method-assign]
    await launch(agent)
    try:
        await asyncio.sleep(0.5)
    finally:
        await halt(agent)
    assert len(attempts) >= 2
