"""Segmented networks: VXLAN carrying a tenant network between two hosts (each a
namespace running its own agent over a veth underlay), and the VLAN path where the
kernel has 802.1q."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nimbus.netdev.bridges import Bridges
from nimbus.netdev.commands import NetdevError
from nimbus.netdev.model import FixedIP, Network, Port, Topology
from nimbus.netdev.names import VLAN, Names
from tests.netdev.support import HOST, Guest, mac, new_id, new_tag, purge, sh

pytestmark = HOST

ROOT = Path(__file__).resolve().parents[2]
UNDERLAY = {"a": "192.0.2.1", "b": "192.0.2.2"}


@pytest.fixture
def tag() -> Iterator[str]:
    tag = new_tag()
    try:
        yield tag
    finally:
        purge(tag)


def run_agent(host: str, spec: dict) -> None:
    """Run the stand-in agent of `host` inside its namespace, as that host would."""
    result = sh(
        "ip",
        "netns",
        "exec",
        host,
        "env",
        f"PYTHONPATH={ROOT}",
        sys.executable,
        "-m",
        "tests.netdev.host_agent",
        json.dumps(spec),
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def fdb_peers(host: str, device: str) -> list[str]:
    shown = json.loads(sh("bridge", "-n", host, "-json", "fdb", "show", "dev", device).stdout)
    return sorted(e["dst"] for e in shown if e.get("mac") == "00:00:00:00:00:00")


def test_vxlan_carries_a_tenant_network_between_two_hosts(tag: str) -> None:
    names = Names(tag)
    hosts = {side: f"{tag}h-{side}" for side in UNDERLAY}
    for host in hosts.values():
        sh("ip", "netns", "add", host)
        sh("ip", "-n", host, "link", "set", "lo", "up")
    sh(
        "ip",
        "link",
        "add",
        f"{tag}ua",
        "netns",
        hosts["a"],
        "type",
        "veth",
        "peer",
        "name",
        f"{tag}ub",
        "netns",
        hosts["b"],
    )
    for side, host in hosts.items():
        sh("ip", "-n", host, "addr", "add", f"{UNDERLAY[side]}/24", "dev", f"{tag}u{side}")
        sh("ip", "-n", host, "link", "set", f"{tag}u{side}", "up")

    network_id, vni = new_id(), 1000 + secrets.randbelow(10000)
    octet = secrets.randbelow(200) + 20
    guests: dict[str, Guest] = {}
    for number, side in enumerate(UNDERLAY, start=1):
        address = FixedIP("", f"10.{octet}.9.{number}")
        port = Port(new_id(), network_id, mac(number), (address,))
        guests[side] = Guest(f"{tag}g-{side}", port)
        guests[side].create(names.tap(port.id), host_netns=hosts[side])
        guests[side].configure(24, None)

    def spec(side: str, remotes: list[str]) -> dict:
        return {
            "tag": tag,
            "network_id": network_id,
            "vni": vni,
            "local_ip": UNDERLAY[side],
            "remote_ips": remotes,
            "ports": [{"id": guests[side].port.id, "mac": guests[side].port.mac_address}],
        }

    for side, other in (("a", "b"), ("b", "a")):
        run_agent(hosts[side], spec(side, [UNDERLAY[other]]))
    run_agent(hosts["a"], spec("a", [UNDERLAY["b"]]))  # again: nothing doubles

    vxlan = names.link("x", network_id)
    assert fdb_peers(hosts["a"], vxlan) == [UNDERLAY["b"]]
    details = json.loads(sh("ip", "-n", hosts["a"], "-d", "-json", "link", "show", vxlan).stdout)
    assert details[0]["linkinfo"]["info_data"]["id"] == vni
    assert details[0]["master"] == names.bridge(network_id)
    guest_a, guest_b = guests["a"], guests["b"]
    assert guest_a.ping(guest_b.ip)
    assert guest_b.ping(guest_a.ip)

    run_agent(hosts["a"], spec("a", []))  # the peer is no longer configured
    assert fdb_peers(hosts["a"], vxlan) == []
    guest_a.ip_("neigh", "flush", "all")
    assert not guest_a.ping(guest_b.ip), "without the peer, host a floods to nobody"


async def test_vlan_segment_is_a_sub_interface_of_the_physical_one(tag: str) -> None:
    names = Names(tag)
    physical = f"{tag}phys"
    sh("ip", "link", "add", physical, "type", "veth", "peer", "name", f"{tag}peer")
    network = Network(new_id(), "vlan", 42, physical_network="physnet1")
    bridges = Bridges(names, physical_interfaces={"physnet1": physical})
    try:
        await bridges.sync(Topology(networks=(network,)))
    except NetdevError as error:
        if "Unknown device type" in str(error):
            pytest.skip("this kernel has no 802.1q VLAN devices (ip link add … type vlan)")
        raise
    link = json.loads(sh("ip", "-d", "-json", "link", "show", names.link(VLAN, network.id)).stdout)[
        0
    ]
    assert link["linkinfo"]["info_data"]["id"] == 42
    assert link["link"] == physical
    assert link["master"] == names.bridge(network.id)
