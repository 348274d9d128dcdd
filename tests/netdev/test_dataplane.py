"""One tenant topology, built once with real namespaces as guests, and the packet-level
claims of the data plane checked against it.

External network (host at .1) ── router (SNAT, floating IP → g1, metadata) ── net1
net1: g1 (groups default+web, serves tcp/80 and tcp/8080), g2 (addressed by DHCP),
      spoofer, and a port with no guest (the library's own tap).
net2: another project's network with the *same* CIDR as net1, and guest g3.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from nimbus.netdev import ip as iproute
from nimbus.netdev.dataplane import DataPlane
from nimbus.netdev.metadata import MetadataRequest, MetadataResponse
from nimbus.netdev.model import (
    DHCP,
    ROUTER_GATEWAY,
    ROUTER_INTERFACE,
    FloatingIP,
    Network,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    Topology,
)
from nimbus.netdev.names import TAP, Names
from tests.netdev.support import HOST, Guest, ash, new_id, new_tag, port, purge, sh, tcp_connects

pytestmark = HOST

UDHCPC_SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && env > "$LEASE_FILE"\nexit 0\n'


@dataclass
class World:
    names: Names
    plane: DataPlane
    topology: Topology
    state_dir: Path
    external_ip: str
    host_ip: str
    floating_ip: str
    net1: Network
    net2: Network
    web: SecurityGroup
    guests: dict[str, Guest]
    tap_only_port_id: str
    leases: dict[str, dict[str, str]] = field(default_factory=dict)
    lease_seconds: float = 0.0
    requests: list[MetadataRequest] = field(default_factory=list)


async def handler_for(world_requests: list[MetadataRequest]):
    async def handler(request: MetadataRequest) -> MetadataResponse:
        world_requests.append(request)
        body = f"{request.network_id} {request.remote_ip} {request.path}"
        return MetadataResponse(200, body.encode())

    return handler


def udhcpc(guest: Guest, workdir: Path) -> dict[str, str]:
    """Ask for a lease with busybox udhcpc; its variables, applied to eth0 and the routes."""
    script, lease = workdir / "udhcpc.sh", workdir / f"lease-{guest.namespace}"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    result = sh(
        "env",
        f"LEASE_FILE={lease}",
        "ip",
        "netns",
        "exec",
        guest.namespace,
        "busybox",
        "udhcpc",
        "-i",
        "eth0",
        "-n",
        "-q",
        "-O",
        "staticroutes",  # as cloud-init's and systemd's clients ask for options 121 and 26
        "-O",
        "mtu",
        "-t",
        "5",
        "-T",
        "1",
        "-s",
        str(script),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    variables = dict(line.split("=", 1) for line in lease.read_text().splitlines() if "=" in line)
    prefix = sum(bin(int(octet)).count("1") for octet in variables["subnet"].split("."))
    guest.ip_("addr", "add", f"{variables['ip']}/{prefix}", "dev", "eth0")
    # As a DHCP client must: option 121 (classless static routes) wins over option 3.
    routes = variables.get("staticroutes", "").split()
    pairs = list(zip(routes[::2], routes[1::2], strict=True))
    for destination, via in pairs or [("default", variables["router"].split()[0])]:
        guest.ip_("route", "add", destination, "via", via)
    return variables


@pytest_asyncio.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    tag = new_tag()
    names = Names(tag)
    state_dir = Path(tempfile.mkdtemp(prefix=f"netdev-{tag}-"))
    octet = secrets.randbelow(200) + 20
    cidr, gateway = f"10.{octet}.1.0/24", f"10.{octet}.1.1"
    ext_subnet = Subnet(new_id(), f"198.18.{octet}.0/24", f"198.18.{octet}.1", enable_dhcp=False)
    external = Network(new_id(), subnets=(ext_subnet,))
    sub1, sub2 = Subnet(new_id(), cidr, gateway), Subnet(new_id(), cidr, gateway)
    net1 = Network(new_id(), subnets=(sub1,))
    net2 = Network(new_id(), subnets=(sub2,))
    default_id = new_id()
    default = SecurityGroup(
        default_id,
        (
            SecurityGroupRule("egress"),
            SecurityGroupRule("ingress", remote_group_id=default_id),
        ),
    )
    web = SecurityGroup(
        new_id(),
        (
            SecurityGroupRule(
                "ingress",
                protocol="tcp",
                port_range_min=80,
                port_range_max=80,
                remote_ip_prefix="0.0.0.0/0",
            ),
        ),
    )
    router = Router(new_id())
    base = f"10.{octet}.1."
    external_ip, floating_ip = f"198.18.{octet}.10", f"198.18.{octet}.20"
    guest_ports = {
        "g1": port(net1.id, sub1.id, base + "10", 10, groups=(default.id, web.id)),
        "g2": port(net1.id, sub1.id, base + "11", 11, groups=(default.id,)),
        "spoofer": port(net1.id, sub1.id, base + "12", 12, groups=(default.id,)),
        "g3": port(net2.id, sub2.id, base + "50", 50, groups=(default.id,)),
    }
    tap_only = port(net1.id, sub1.id, base + "13", 13, groups=(default.id,))
    network_ports = (
        port(net1.id, sub1.id, gateway, 1, owner=ROUTER_INTERFACE, device_id=router.id),
        port(external.id, ext_subnet.id, external_ip, 2, owner=ROUTER_GATEWAY, device_id=router.id),
        port(net1.id, sub1.id, base + "2", 3, owner=DHCP),
        port(net2.id, sub2.id, base + "2", 4, owner=DHCP),
    )
    members = [*guest_ports.values(), tap_only]
    default = dataclasses.replace(
        default, member_ips=tuple(p.fixed_ips[0].ip_address for p in members)
    )
    topology = Topology(
        networks=(external, net1, net2),
        ports=(*network_ports, *guest_ports.values(), tap_only),
        routers=(router,),
        floating_ips=(
            FloatingIP(floating_ip, guest_ports["g1"].fixed_ips[0].ip_address, router.id),
        ),
        security_groups=(default, web),
    )
    requests: list[MetadataRequest] = []
    plane = DataPlane(
        names,
        state_dir,
        metadata_handler=await handler_for(requests),
        host_addresses={external.id: f"198.18.{octet}.1/24"},
    )
    guests = {name: Guest(f"{tag}g-{name}", p) for name, p in guest_ports.items()}
    world = World(
        names,
        plane,
        topology,
        state_dir,
        external_ip,
        f"198.18.{octet}.1",
        floating_ip,
        net1,
        net2,
        web,
        guests,
        tap_only.id,
        requests=requests,
    )
    try:
        for guest in guests.values():
            guest.create(names.tap(guest.port.id))
        await plane.apply(topology)
        for name in ("g1", "spoofer"):
            guests[name].configure(24, gateway)
        started = time.monotonic()
        world.leases["g2"] = udhcpc(guests["g2"], state_dir)
        world.lease_seconds = time.monotonic() - started
        world.leases["g3"] = udhcpc(guests["g3"], state_dir)
        guests["g1"].serve_http(80, 8080)
        yield world
    finally:
        await world.plane.close()
        purge(tag)
        shutil.rmtree(state_dir, ignore_errors=True)


def dnsmasq_pid(world: World, network: Network) -> int:
    return int((world.plane.dhcp.directory(network.id) / "pid").read_text())


# --- DHCP ---------------------------------------------------------------------------------


async def test_dhcp_gives_the_guest_its_ports_address(world: World) -> None:
    g2 = world.guests["g2"]
    lease = world.leases["g2"]
    assert lease["ip"] == g2.ip
    assert lease["router"].split()[0] == world.net1.subnets[0].gateway_ip
    assert lease["serverid"].endswith(".2")
    assert lease["mtu"] == str(world.net1.mtu)
    assert "staticroutes" not in lease, "a routed network needs no route to metadata"
    print(f"DHCP lease in {world.lease_seconds:.3f} s")
    assert world.lease_seconds < 10
    assert f"inet {g2.ip}/24" in g2.ip_("addr", "show", "dev", "eth0")


async def test_a_new_port_reaches_dnsmasq_by_sighup_not_restart(world: World) -> None:
    pid = dnsmasq_pid(world, world.net1)
    subnet = world.net1.subnets[0]
    late = dataclasses.replace(
        world.guests["g2"].port,
        id=new_id(),
        mac_address="fa:16:3e:0f:0f:0f",
        fixed_ips=(
            dataclasses.replace(
                world.guests["g2"].port.fixed_ips[0],
                ip_address=subnet.gateway_ip.rsplit(".", 1)[0] + ".77",
            ),
        ),
    )
    guest = Guest(f"{world.names.tag}g-late", late)
    guest.create(world.names.tap(late.id))
    grown = dataclasses.replace(world.topology, ports=(*world.topology.ports, late))
    try:
        await world.plane.apply(grown)
        assert dnsmasq_pid(world, world.net1) == pid
        lease = udhcpc(guest, world.state_dir)
        assert lease["ip"] == late.fixed_ips[0].ip_address
    finally:
        await world.plane.apply(world.topology)
    assert dnsmasq_pid(world, world.net1) == pid
    hosts = (world.plane.dhcp.directory(world.net1.id) / "hosts").read_text()
    assert late.mac_address not in hosts
    assert world.names.tap(late.id) not in await iproute.links()


# --- L2 reachability ----------------------------------------------------------------------


async def test_guests_on_one_network_reach_each_other(world: World) -> None:
    g1, g2 = world.guests["g1"], world.guests["g2"]
    assert g1.ping(g2.ip)
    assert g2.ping(g1.ip)


async def test_a_guest_on_another_network_with_the_same_cidr_cannot(world: World) -> None:
    g1, g3 = world.guests["g1"], world.guests["g3"]
    assert g3.ping(g3.ip.rsplit(".", 1)[0] + ".2"), "g3 reaches its own network's DHCP port"
    assert not g3.ping(g1.ip)
    assert not g1.ping(g3.ip)


async def test_the_library_creates_a_real_tap_for_a_port_without_a_device(world: World) -> None:
    tap = world.names.tap(world.tap_only_port_id)
    link = (await iproute.links())[tap]
    assert iproute.kind(link) == "tun"
    assert link["linkinfo"]["info_data"]["type"] == "tap"
    assert link["master"] == world.names.bridge(world.net1.id)


# --- anti-spoofing ------------------------------------------------------------------------


async def test_a_guest_cannot_send_from_a_foreign_ip(world: World) -> None:
    spoofer, g2 = world.guests["spoofer"], world.guests["g2"]
    assert spoofer.ping(g2.ip), "the honest packet goes through"
    foreign = spoofer.ip.rsplit(".", 1)[0] + ".99"
    spoofer.ip_("addr", "add", f"{foreign}/24", "dev", "eth0")
    try:
        assert not spoofer.ping(g2.ip, "-I", foreign)
    finally:
        spoofer.ip_("addr", "del", f"{foreign}/24", "dev", "eth0")


async def test_a_guest_cannot_send_from_a_foreign_mac(world: World) -> None:
    spoofer, g2 = world.guests["spoofer"], world.guests["g2"]
    spoofer.ip_("link", "set", "eth0", "address", "fa:16:3e:66:66:66")
    try:
        g2.ip_("neigh", "flush", "all")
        spoofer.ip_("neigh", "flush", "all")
        assert not spoofer.ping(g2.ip)
    finally:
        spoofer.ip_("link", "set", "eth0", "address", spoofer.port.mac_address)
    g2.ip_("neigh", "flush", "all")
    spoofer.ip_("neigh", "flush", "all")
    assert spoofer.ping(g2.ip), "back on its own MAC it is heard again"


async def test_a_guest_cannot_claim_another_guests_ip_by_arp(world: World) -> None:
    g1, g2, spoofer = world.guests["g1"], world.guests["g2"], world.guests["spoofer"]
    assert g2.ping(g1.ip)
    spoofer.ip_("addr", "add", f"{g1.ip}/32", "dev", "eth0", "nodad")
    try:
        sent = spoofer.run("busybox", "arping", "-U", "-c", "2", "-I", "eth0", "-s", g1.ip, g1.ip)
    finally:
        spoofer.ip_("addr", "del", f"{g1.ip}/32", "dev", "eth0")
    assert sent.returncode == 0, sent.stderr
    neighbours = json.loads(g2.ip_("-json", "neigh", "show", g1.ip))
    assert [n["lladdr"] for n in neighbours] == [g1.port.mac_address]


# --- router: SNAT, floating IP, security groups ---------------------------------------------


@pytest.mark.parametrize(("name", "source"), [("g2", "external_ip"), ("g1", "floating_ip")])
async def test_a_guest_reaches_the_external_network_through_snat(
    world: World, name: str, source: str
) -> None:
    """Outbound traffic leaves as the router's address, or as the guest's floating IP."""
    peers: list[str] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[0])
        writer.close()

    server = await asyncio.start_server(record, world.host_ip, 0)
    listening = server.sockets[0].getsockname()[1]
    try:
        code, out = await ash(
            "ip",
            "netns",
            "exec",
            world.guests[name].namespace,
            "busybox",
            "nc",
            "-w",
            "3",
            world.host_ip,
            str(listening),
        )
        for _ in range(20):
            if peers:
                break
            await asyncio.sleep(0.05)
    finally:
        server.close()
    assert peers == [getattr(world, source)], (code, out)


async def test_the_floating_ip_answers_on_an_allowed_port_only(world: World) -> None:
    assert tcp_connects(world.floating_ip, 80)
    assert not tcp_connects(world.floating_ip, 8080, timeout=1.0)


async def test_a_floating_ip_answers_as_soon_as_it_is_associated(world: World) -> None:
    unassociated = dataclasses.replace(world.topology, floating_ips=())
    await world.plane.apply(unassociated)
    try:
        assert not tcp_connects(world.floating_ip, 80, timeout=0.5)
        started = time.monotonic()
        await world.plane.apply(world.topology)
        applied = time.monotonic() - started
        assert tcp_connects(world.floating_ip, 80, timeout=2.0)
        answering = time.monotonic() - started
    finally:
        await world.plane.apply(world.topology)
    print(f"floating IP: applied in {applied:.3f} s, answering after {answering:.3f} s")
    assert answering < 5


async def test_deleting_the_rule_closes_the_port_within_a_second(world: World) -> None:
    closed = dataclasses.replace(
        world.topology,
        security_groups=tuple(
            dataclasses.replace(g, rules=()) if g.id == world.web.id else g
            for g in world.topology.security_groups
        ),
    )
    assert tcp_connects(world.floating_ip, 80)
    started = time.monotonic()
    await world.plane.apply_security_groups(closed)
    took = time.monotonic() - started
    print(f"rule removal applied in {took:.3f} s")
    try:
        assert took < 1.0
        for _ in range(2):  # a dropped SYN: no answer within the timeout, twice
            assert not tcp_connects(world.floating_ip, 80, timeout=0.5)
    finally:
        await world.plane.apply_security_groups(world.topology)
    assert tcp_connects(world.floating_ip, 80), "restoring the rule reopens the port"


# --- metadata -----------------------------------------------------------------------------


async def metadata_get(guest: Guest, path: str) -> tuple[int, str]:
    """GET http://169.254.169.254/PATH from inside the guest."""
    url = f"http://169.254.169.254{path}"
    return await ash("ip", "netns", "exec", guest.namespace, "curl", "-sS", "-m", "3", url)


async def test_an_isolated_network_routes_metadata_to_its_dhcp_port(world: World) -> None:
    lease, g3 = world.leases["g3"], world.guests["g3"]
    assert lease["ip"] == g3.ip
    dhcp_ip = g3.ip.rsplit(".", 1)[0] + ".2"
    gateway = world.net2.subnets[0].gateway_ip
    assert lease["staticroutes"].split() == ["169.254.169.254/32", dhcp_ip, "0.0.0.0/0", gateway]


@pytest.mark.parametrize("name", ["g1", "g2", "g3"])
async def test_metadata_reaches_the_listener_with_the_guests_fixed_ip(
    world: World, name: str
) -> None:
    guest = world.guests[name]
    code, out = await metadata_get(guest, "/latest/meta-data/x")
    assert code == 0, out
    network = world.net2 if name == "g3" else world.net1
    assert out == f"{network.id} {guest.ip} /latest/meta-data/x"


# --- convergence --------------------------------------------------------------------------


def snapshot(world: World) -> dict[str, object]:
    """Every kernel object the agent owns, in a comparable form."""
    tag = world.names.tag
    links = {
        link["ifname"]: (link.get("master"), link["mtu"], link.get("address"))
        for link in json.loads(sh("ip", "-json", "link", "show").stdout)
        if link["ifname"].startswith(tag)
    }
    namespaces = sorted(
        n["name"]
        for n in json.loads(sh("ip", "-json", "netns", "list").stdout)
        if n["name"].startswith(tag) and not n["name"].startswith(f"{tag}g-")
    )
    inside = {
        ns: (
            sh("ip", "-n", ns, "-brief", "addr").stdout,
            sh("ip", "-n", ns, "route").stdout,
            sh("ip", "netns", "exec", ns, "nft", "list", "ruleset").stdout,
        )
        for ns in namespaces
    }
    tables = [
        sh("nft", "list", "table", family, f"{tag}_sg").stdout for family in ("bridge", "inet")
    ]
    dhcp = {
        net.id: (
            dnsmasq_pid(world, net),
            (world.plane.dhcp.directory(net.id) / "hosts").read_text(),
        )
        for net in (world.net1, world.net2)
    }
    return {"links": links, "namespaces": namespaces, "inside": inside, "nft": tables, "dhcp": dhcp}


def rule_count(table: str, family: str) -> int:
    listed = json.loads(sh("nft", "-j", "list", "table", family, table).stdout)["nftables"]
    return sum(1 for item in listed if "rule" in item)


async def test_applying_twice_and_restarting_changes_nothing(world: World) -> None:
    before = snapshot(world)
    rules = rule_count(f"{world.names.tag}_sg", "inet")
    await world.plane.apply(world.topology)
    assert snapshot(world) == before
    await world.plane.close()
    world.plane = DataPlane(  # a restarted agent: no memory, same state directory
        world.names,
        world.state_dir,
        metadata_handler=await handler_for(world.requests),
        host_addresses=world.plane.host_addresses,
    )
    started = time.monotonic()
    await world.plane.apply(world.topology)
    rebuild = time.monotonic() - started
    assert snapshot(world) == before
    assert rule_count(f"{world.names.tag}_sg", "inet") == rules
    print(f"restarted agent rebuilt the world in {rebuild:.3f} s")
    assert rebuild < 15
    code, out = await metadata_get(world.guests["g1"], "/")
    assert code == 0 and world.guests["g1"].ip in out, "the restarted agent serves metadata"


async def test_objects_no_longer_desired_are_removed(world: World) -> None:
    names = world.names
    gone_net, gone_router = new_id(), new_id()
    sh("ip", "link", "add", names.bridge(gone_net), "type", "bridge")
    sh(
        "ip",
        "link",
        "add",
        names.tap(new_id()),
        "type",
        "veth",
        "peer",
        "name",
        names.tap(new_id()),
    )
    sh("ip", "netns", "add", names.router_namespace(gone_router))
    sh("ip", "netns", "add", names.dhcp_namespace(gone_net))
    (world.plane.dhcp.directory(gone_net)).mkdir(parents=True)
    before_extra = snapshot(world)
    assert names.bridge(gone_net) in before_extra["links"]
    await world.plane.apply(world.topology)
    after = snapshot(world)
    assert names.bridge(gone_net) not in after["links"]
    assert not any(n.endswith((gone_router, gone_net)) for n in after["namespaces"])
    assert not world.plane.dhcp.directory(gone_net).exists()
    tap_links = [n for n in after["links"] if names.owns(n, TAP)]
    assert len(tap_links) == 5
