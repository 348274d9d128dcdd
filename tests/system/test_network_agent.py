"""The network agent against a cloud filled through the real Neutron and Nova APIs, with
network namespaces as guests: one topology, built once, and the claims checked on it.

ext (external, host at .1) ── r1 (SNAT, floating IP → g1) ── net1
net1: g1 (default + web; serves tcp/80; its port's device is a server booted with the
      fake driver, with user_data and a key) and g2 (default; no instance).
Both guests get their addresses by DHCP from the agent's dnsmasq.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from nimbus.compute.options import ComputeOptions
from nimbus.db import changes
from nimbus.netdev.dataplane import DataPlane
from nimbus.netdev.model import FixedIP, Network, Port, SecurityGroup, Subnet, Topology
from nimbus.netdev.names import DHCP as DHCP_LINK
from nimbus.netdev.names import Names
from nimbus.network.options import NetworkOptions
from nimbus.network.topology import tap_name
from nimbus.services.base import halt, launch
from nimbus.services.network import AgentOptions, NetworkAgent, collect_gone_clouds
from nimbus.services.runner import deps_for
from tests.api.compute_helpers import compute_client, ok
from tests.api.conftest import Cloud, start_cloud
from tests.api.network_helpers import admin_client, create
from tests.api.server_helpers import active_image, boot_ok, wait_status
from tests.netdev.support import HOST, Guest, ash, purge, sh, tcp_connects
from tests.netdev.test_dataplane import udhcpc

pytestmark = HOST

USER_DATA = b"#!/bin/sh\necho hello from user_data\n"
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBn8cQ0H1z9uGWf3VPxl1pS0m1LrSs0k7G3aS1pXH9xN k1@test"
)


@dataclass
class World:
    cloud: Cloud
    network: httpx.AsyncClient
    agent: NetworkAgent
    options: AgentOptions
    guests: dict[str, Guest]
    ports: dict[str, dict[str, Any]]
    server_id: str
    web_group: str
    floating_ip: str
    floating_ip_id: str
    router_external_ip: str
    host_ip: str
    decoy: str
    leases: dict[str, dict[str, str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0) -> float:
    """Seconds until `check()` (plain or awaitable) holds; fails the test after `timeout`."""
    started = time.monotonic()
    while not await _truth(check()):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{check} did not hold within {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _truth(value: bool | Awaitable[bool]) -> bool:
    return await value if inspect.isawaitable(value) else value


def new_agent(world_cloud: Cloud, options: AgentOptions) -> NetworkAgent:
    process = world_cloud.process
    deps = deps_for(
        process.db, process.bus, process.settings.compute, process.settings.data_dir, 60
    )
    return NetworkAgent(deps, options, NetworkOptions())


async def boot_server(cloud: Cloud) -> str:
    """A server built by the fake driver, with user_data and a key pair."""
    image = await active_image(cloud, "agent-image")
    async with await compute_client(cloud, "2.100") as nova:
        keypair = {"keypair": {"name": "k1", "public_key": PUBLIC_KEY}}
        ok(await nova.post("/v2.1/os-keypairs", json=keypair), 201)
        server = await boot_ok(
            nova,
            image,
            "vm1",
            key_name="k1",
            user_data=base64.b64encode(USER_DATA).decode(),
        )
        await wait_status(nova, server["id"], "ACTIVE")
    return server["id"]


async def build_topology(cloud: Cloud, client: httpx.AsyncClient, octet: int) -> dict[str, Any]:
    """Everything through the Neutron API; what the tests need to know of it."""
    public = ok(await client.get("/v2.0/networks", params={"name": "public"}))["networks"]
    for network in public:  # 172.24.4.0/24 belongs to a real `nimbus up`, not to tests
        assert (await client.delete(f"/v2.0/networks/{network['id']}")).status_code == 204
    ext = await create(
        client,
        "network",
        name="ext",
        **{
            "router:external": True,
            "provider:network_type": "flat",
            "provider:physical_network": "public",
        },
    )
    await create(
        client,
        "subnet",
        network_id=ext["id"],
        ip_version=4,
        cidr=f"198.19.{octet}.0/24",
        enable_dhcp=False,
    )
    net1 = await create(client, "network", name="net1")
    sub1 = await create(
        client, "subnet", network_id=net1["id"], ip_version=4, cidr=f"10.{octet}.7.0/24"
    )
    router = await create(
        client, "router", name="r1", external_gateway_info={"network_id": ext["id"]}
    )
    ok(
        await client.put(
            f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": sub1["id"]}
        )
    )
    web = await create(client, "security_group", name="web")
    groups = ok(await client.get("/v2.0/security-groups", params={"name": "default"}))
    default = next(
        g["id"] for g in groups["security_groups"] if g["project_id"] == web["project_id"]
    )
    return {"ext": ext, "net1": net1, "sub1": sub1, "router": router, "web": web["id"],
            "default": default}  # fmt: skip


@pytest_asyncio.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tag, decoy_tag = "y" + secrets.token_hex(2), "x" + secrets.token_hex(2)
    decoy = f"{decoy_tag}-{secrets.token_hex(4)}"
    octet = secrets.randbelow(200) + 20
    data_dir = tmp_path_factory.mktemp("agent")
    state_dir = Path(tempfile.mkdtemp(prefix=f"agent-{tag}-"))
    cloud, process = await start_cloud(
        data_dir,
        compute=ComputeOptions(fake_hosts=1, report_interval=5),
        transport_url=f"inprocess://{data_dir.name}",
    )
    process.roles = ("conductor", "scheduler", "compute")
    await process.start_daemons()
    client = await admin_client(cloud)
    options = AgentOptions(
        tag=tag,
        state_dir=state_dir,
        host="agent-host",
        registry=state_dir.with_suffix(".agents"),
        wired_status_interval=1.0,
    )
    agent = new_agent(cloud, options)
    world: World | None = None
    try:
        made = await build_topology(cloud, client, octet)
        server_id = await boot_server(cloud)
        ports = {
            "g1": await create(
                client,
                "port",
                network_id=made["net1"]["id"],
                device_id=server_id,
                device_owner="compute:nova",
                security_groups=[made["default"], made["web"]],
                **{"binding:host_id": "agent-host"},
            ),
            "g2": await create(client, "port", network_id=made["net1"]["id"]),
        }
        fip = await create(
            client,
            "floatingip",
            floating_network_id=made["ext"]["id"],
            port_id=ports["g1"]["id"],
        )
        router = ok(await client.get(f"/v2.0/routers/{made['router']['id']}"))["router"]
        gateway = router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
        guests = {name: Guest(f"{tag}g-{name}", _netdev_port(port)) for name, port in ports.items()}
        for guest in guests.values():
            guest.create(tap_name(agent.names, guest.port.id))
        # A stopped cloud's external bridge still holding the address this cloud needs.
        sh("ip", "link", "add", decoy, "type", "bridge")
        sh("ip", "addr", "add", f"198.19.{octet}.1/24", "dev", decoy)
        started = time.monotonic()
        await launch(agent)
        world = World(
            cloud=cloud,
            network=client,
            agent=agent,
            options=options,
            guests=guests,
            ports=ports,
            server_id=server_id,
            web_group=made["web"],
            floating_ip=fip["floating_ip_address"],
            floating_ip_id=fip["id"],
            router_external_ip=gateway,
            host_ip=f"198.19.{octet}.1",
            decoy=decoy,
        )
        world.timings["first apply"] = time.monotonic() - started
        for name, guest in guests.items():
            world.leases[name] = udhcpc(guest, state_dir)
        guests["g1"].serve_http(80, 8080)
        yield world
    finally:
        await halt(world.agent if world else agent)
        await client.aclose()
        await process.stop()
        purge(tag)
        purge(decoy_tag)
        shutil.rmtree(state_dir, ignore_errors=True)
        shutil.rmtree(state_dir.with_suffix(".agents"), ignore_errors=True)


def _netdev_port(document: dict[str, Any]) -> Port:
    return Port(
        id=document["id"],
        network_id=document["network_id"],
        mac_address=document["mac_address"],
        fixed_ips=tuple(FixedIP(f["subnet_id"], f["ip_address"]) for f in document["fixed_ips"]),
    )


# --- DHCP, statuses, L2 -------------------------------------------------------------------


async def test_guests_get_their_ports_addresses_by_dhcp(world: World) -> None:
    print(f"first apply {world.timings['first apply']:.3f} s")
    for name, guest in world.guests.items():
        assert world.leases[name]["ip"] == guest.ip
        assert world.leases[name]["router"].split()[0].endswith(".1")


async def test_wired_ports_and_the_floating_ip_become_active(world: World) -> None:
    async def active() -> bool:
        statuses = [
            ok(await world.network.get(f"/v2.0/ports/{p['id']}"))["port"]["status"]
            for p in world.ports.values()
        ]
        fip = ok(await world.network.get(f"/v2.0/floatingips/{world.floating_ip_id}"))
        return statuses == ["ACTIVE", "ACTIVE"] and fip["floatingip"]["status"] == "ACTIVE"

    await eventually(active)
    dhcp = ok(await world.network.get("/v2.0/ports", params={"device_owner": "network:dhcp"}))
    assert [p["status"] for p in dhcp["ports"]] == ["ACTIVE"]


async def test_a_port_whose_guest_lets_go_of_its_tap_goes_down_and_back(world: World) -> None:
    """A QEMU that exits takes its tap's carrier with it and changes no row: the agent's
    regular look at the wired ports must still see it (here the guest's end of the veth
    goes down, which the host end sees the same way)."""
    guest, port_id = world.guests["g1"], world.ports["g1"]["id"]
    routes = guest.ip_("route", "show", "default").split()

    async def status(wanted: str) -> bool:
        port = ok(await world.network.get(f"/v2.0/ports/{port_id}"))["port"]
        return port["status"] == wanted

    await eventually(lambda: status("ACTIVE"))
    # Statuses written change the network's counter once more; let that last pass go,
    # so that only the agent's regular look can see what follows.
    await asyncio.sleep(1.0)
    guest.ip_("link", "set", "eth0", "down")
    try:
        world.timings["port down"] = await eventually(lambda: status("DOWN"))
    finally:
        guest.ip_("link", "set", "eth0", "up")
        if routes:  # a link going down takes its routes with it
            guest.ip_("route", "replace", *routes)
    await eventually(lambda: status("ACTIVE"))


async def test_guests_on_one_network_reach_each_other(world: World) -> None:
    g1, g2 = world.guests["g1"], world.guests["g2"]
    assert g1.ping(g2.ip)
    assert g2.ping(g1.ip)


async def test_another_clouds_security_groups_leave_ours_alone(world: World) -> None:
    """Packet marks are global: a second agent on the host (another tag) whose only
    profile drops all ingress must not judge this cloud's packets."""
    other = Names("w" + secrets.token_hex(2))
    group = SecurityGroup(str(uuid.uuid4()))  # no rule: its ingress chain drops everything
    network = Network(str(uuid.uuid4()), subnets=(Subnet(str(uuid.uuid4()), "10.251.0.0/24"),))
    port = Port(str(uuid.uuid4()), network.id, "fa:16:3e:77:77:77",
                security_group_ids=(group.id,))  # fmt: skip
    state_dir = Path(tempfile.mkdtemp(prefix=f"agent-{other.tag}-"))
    plane = DataPlane(other, state_dir)
    try:
        await plane.apply(Topology(networks=(network,), ports=(port,), security_groups=(group,)))
        assert "jump ingress_1" in sh("nft", "list", "table", "inet", other.table("sg")).stdout
        g1, g2 = world.guests["g1"], world.guests["g2"]
        assert g1.ping(g2.ip) and g2.ping(g1.ip)
    finally:
        purge(other.tag)
        shutil.rmtree(state_dir, ignore_errors=True)


# --- security groups through the API --------------------------------------------------------


async def test_a_rule_created_through_the_api_opens_tcp_80_within_a_second(world: World) -> None:
    assert not tcp_connects(world.floating_ip, 80, timeout=0.5), "no rule allows tcp/80 yet"
    started = time.monotonic()
    rule = await create(
        world.network,
        "security_group_rule",
        security_group_id=world.web_group,
        direction="ingress",
        protocol="tcp",
        port_range_min=80,
        port_range_max=80,
        remote_ip_prefix="0.0.0.0/0",
    )
    await eventually(lambda: asyncio.to_thread(tcp_connects, world.floating_ip, 80, 0.2), 3)
    opened = time.monotonic() - started
    assert not tcp_connects(world.floating_ip, 8080, timeout=0.5), "no rule allows tcp/8080"
    started = time.monotonic()
    deleted = await world.network.delete(f"/v2.0/security-group-rules/{rule['id']}")
    assert deleted.status_code == 204

    async def closed() -> bool:
        return not await asyncio.to_thread(tcp_connects, world.floating_ip, 80, 0.2)

    await eventually(closed, 3)
    shut = time.monotonic() - started
    print(f"rule create → tcp/80 open: {opened:.3f} s; rule delete → closed: {shut:.3f} s")
    assert opened < 1.0 and shut < 1.0
    assert not tcp_connects(world.floating_ip, 80, timeout=0.5), "and stays closed"


async def test_the_host_address_is_taken_over_from_a_stopped_clouds_bridge(
    world: World,
) -> None:
    assert world.host_ip not in sh("ip", "-brief", "addr", "show", "dev", world.decoy).stdout
    [external_id] = world.agent.plane.host_addresses
    external = world.agent.names.bridge(external_id)
    assert f"{world.host_ip}/24" in sh("ip", "-brief", "addr", "show", "dev", external).stdout


# --- router ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "source"), [("g2", "router"), ("g1", "floating")])
async def test_guests_reach_the_host_through_snat(world: World, name: str, source: str) -> None:
    peers: list[str] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[0])
        writer.close()

    server = await asyncio.start_server(record, world.host_ip, 0)
    listening = server.sockets[0].getsockname()[1]
    try:
        guest = world.guests[name].namespace
        await ash("ip", "netns", "exec", guest, "busybox", "nc", "-w", "3", world.host_ip,
                  str(listening))  # fmt: skip
        await eventually(lambda: bool(peers), 2)
    finally:
        server.close()
    expected = world.router_external_ip if source == "router" else world.floating_ip
    assert peers == [expected]


async def test_the_floating_ip_answers_pings_from_the_host_once_allowed(world: World) -> None:
    def ping() -> bool:
        return (
            sh("busybox", "ping", "-c", "1", "-W", "1", world.floating_ip, check=False).returncode
            == 0
        )

    assert not await asyncio.to_thread(ping), "the default group lets no ICMP in from the host"
    rule = await create(
        world.network,
        "security_group_rule",
        security_group_id=world.web_group,
        direction="ingress",
        protocol="icmp",
    )
    try:
        await eventually(lambda: asyncio.to_thread(ping), 3)
    finally:
        await world.network.delete(f"/v2.0/security-group-rules/{rule['id']}")


# --- metadata -------------------------------------------------------------------------------


async def metadata(guest: Guest, path: str) -> tuple[int, str]:
    """(HTTP status, body) of GET http://169.254.169.254/PATH from inside the guest."""
    code, out = await ash(
        "ip", "netns", "exec", guest.namespace, "curl", "-sS", "-m", "3", "-w", "\n%{http_code}",
        f"http://169.254.169.254{path}",
    )  # fmt: skip
    assert code == 0, out
    body, _, status = out.rpartition("\n")
    return int(status), body


async def test_metadata_answers_the_instance_behind_the_port(world: World) -> None:
    g1 = world.guests["g1"]
    status, body = await metadata(g1, "/openstack/latest/meta_data.json")
    assert status == 200, body
    meta = json.loads(body)
    assert meta["uuid"] == world.server_id and meta["name"] == "vm1"
    assert meta["public_keys"] == {"k1": PUBLIC_KEY}
    assert await metadata(g1, "/openstack/latest/user_data") == (200, USER_DATA.decode())
    assert await metadata(g1, "/latest/user-data") == (200, USER_DATA.decode())
    assert await metadata(g1, "/latest/meta-data/public-keys/0/openssh-key") == (200, PUBLIC_KEY)
    assert await metadata(g1, "/latest/meta-data/local-ipv4") == (200, g1.ip)
    assert await metadata(g1, "/latest/meta-data/public-ipv4") == (200, world.floating_ip)
    status, body = await metadata(g1, "/openstack/latest/network_data.json")
    assert json.loads(body)["links"][0]["vif_id"] == world.ports["g1"]["id"]
    assert (await metadata(g1, "/openstack/latest/nothing"))[0] == 404


async def test_metadata_has_nothing_for_a_guest_without_an_instance(world: World) -> None:
    g2 = world.guests["g2"]
    assert (await metadata(g2, "/openstack/latest/meta_data.json"))[0] == 404
    assert (await metadata(g2, "/latest/meta-data/instance-id"))[0] == 404


# --- life cycle -----------------------------------------------------------------------------


async def test_a_network_deleted_through_the_api_leaves_the_host(world: World) -> None:
    names = world.agent.names
    net = await create(world.network, "network", name="short-lived")
    await create(world.network, "subnet", network_id=net["id"], ip_version=4,
                 cidr="10.250.0.0/24")  # fmt: skip

    def present() -> set[str]:
        links = {link["ifname"] for link in json.loads(sh("ip", "-json", "link").stdout)}
        spaces = {n["name"] for n in json.loads(sh("ip", "-json", "netns").stdout or "[]")}
        # The DHCP veth's host end goes some time after its namespace (the kernel
        # destroys namespaces asynchronously).
        ours = {names.bridge(net["id"]), names.link(DHCP_LINK, net["id"])}
        return (ours & links) | ({names.dhcp_namespace(net["id"])} & spaces)

    await eventually(lambda: len(present()) == 3)
    ports = ok(await world.network.get("/v2.0/ports", params={"network_id": net["id"]}))
    assert [p["device_owner"] for p in ports["ports"]] == ["network:dhcp"]
    assert (await world.network.delete(f"/v2.0/networks/{net['id']}")).status_code == 204
    await eventually(lambda: not present())


def tables_of(ruleset: str) -> list[str]:
    """A rule set's tables, in a stable order (replacing a table moves it to the end)."""
    return sorted(f"table {t}" for t in ruleset.split("table ") if t.strip())


def snapshot(tag: str) -> dict[str, Any]:
    """Every kernel object of the agent (not the test's guests), comparably."""
    links = {
        link["ifname"]: (link.get("master"), link["mtu"], link.get("address"))
        for link in json.loads(sh("ip", "-json", "link", "show").stdout)
        if link["ifname"].startswith(tag)
    }
    spaces = sorted(
        n["name"]
        for n in json.loads(sh("ip", "-json", "netns", "list").stdout or "[]")
        if n["name"].startswith(tag) and not n["name"].startswith(f"{tag}g-")
    )
    inside = {
        ns: (
            sh("ip", "-n", ns, "-brief", "addr").stdout,
            sh("ip", "-n", ns, "route").stdout,
            tables_of(sh("ip", "netns", "exec", ns, "nft", "list", "ruleset").stdout),
        )
        for ns in spaces
    }
    tables = [
        sh("nft", "list", "table", family, f"{tag}_sg").stdout for family in ("bridge", "inet")
    ]
    return {"links": links, "namespaces": spaces, "inside": inside, "nft": tables}


async def test_a_restarted_agent_rebuilds_the_same_data_plane(world: World) -> None:
    before = snapshot(world.options.tag)
    await halt(world.agent)
    world.agent = new_agent(world.cloud, world.options)
    started = time.monotonic()
    await launch(world.agent)
    rebuilt = time.monotonic() - started
    print(f"restarted agent rebuilt the data plane in {rebuilt:.3f} s")
    assert snapshot(world.options.tag) == before
    assert world.agent.passes == 1
    async with world.cloud.process.db.reader() as session:
        counter = await changes.current(session, changes.NETWORK)
    await asyncio.sleep(0.5)  # a few polls: nothing changed, so nothing is applied again
    assert world.agent.passes == 1
    async with world.cloud.process.db.reader() as session:
        assert await changes.current(session, changes.NETWORK) == counter
    status, body = await metadata(world.guests["g1"], "/latest/meta-data/instance-id")
    assert status == 200 and body.startswith("i-")
    assert world.guests["g1"].ping(world.guests["g2"].ip)


async def test_the_data_plane_of_a_gone_cloud_is_collected(world: World) -> None:
    """Last: it takes the world down (the fixture's purge is only the safety net)."""
    tag, registry = world.options.tag, world.options.registry
    assert registry is not None and (registry / tag).read_text() == str(world.options.state_dir)

    def dnsmasq() -> str:
        return sh("pgrep", "-f", str(world.options.state_dir), check=False).stdout

    await halt(world.agent)
    assert dnsmasq(), "a stopped agent leaves its data plane running"
    shutil.rmtree(world.options.state_dir)  # the cloud is deleted; its dnsmasq still runs
    assert await collect_gone_clouds(registry) == [tag]
    links = [link["ifname"] for link in json.loads(sh("ip", "-json", "link").stdout)]
    spaces = [n["name"] for n in json.loads(sh("ip", "-json", "netns").stdout or "[]")]
    tables = sh("nft", "list", "tables").stdout.split()
    assert [name for name in links if name.startswith(tag)] == []
    assert [name for name in spaces if name.startswith(tag) and "g-" not in name] == []
    assert [name for name in tables if name.startswith(tag)] == []
    assert dnsmasq() == ""
    assert not (registry / tag).exists()
