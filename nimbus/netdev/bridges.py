"""A Linux bridge per network, its segment device (VXLAN, VLAN or a physical interface),
and the taps of the instance ports plugged into it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nimbus.netdev import ip
from nimbus.netdev.commands import NetdevError, run
from nimbus.netdev.model import Network, Port, Topology
from nimbus.netdev.names import BRIDGE, TAP, VLAN, VXLAN, Names

ALL_ZEROS_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True)
class VxlanConfig:
    """How this host reaches its peers: unicast to `remote_ips` (static default FDB entries,
    one per peer) or a multicast `group` on `device`."""

    local_ip: str
    remote_ips: tuple[str, ...] = ()
    group: str | None = None
    device: str | None = None
    port: int = 4789


class Bridges:
    """Converges bridges, segment devices and instance taps of one host."""

    def __init__(
        self,
        names: Names,
        *,
        vxlan: VxlanConfig | None = None,
        physical_interfaces: Mapping[str, str] | None = None,
    ) -> None:
        self.names = names
        self.vxlan = vxlan
        self.physical_interfaces = dict(physical_interfaces or {})

    async def sync(self, topology: Topology) -> None:
        """Create what is missing, fix what differs, delete our stale links."""
        links = await ip.links()
        wanted: set[str] = set()
        for network in topology.networks:
            wanted |= await self._network(network, links)
        for port in topology.ports:
            if port.is_instance_port:
                network = topology.network(port.network_id)
                name = self.names.tap(port.id)
                if name not in links:
                    # A tap QEMU opens by name (`-netdev tap,ifname=…,script=no`); a test
                    # may put a veth here instead, which is plugged the same way.
                    await ip.ip("tuntap", "add", "dev", name, "mode", "tap")
                await self._plug(name, network, links.get(name))
                wanted.add(name)
        await self._delete_stale(links, wanted)

    async def _network(self, network: Network, links: dict[str, dict[str, Any]]) -> set[str]:
        bridge = self.names.bridge(network.id)
        if bridge not in links:
            await ip.ip("link", "add", bridge, "type", "bridge", "forward_delay", "0")
        await ip.set_link(bridge, "mtu", str(network.mtu), "up")
        segment = await self._segment(network, links)
        if segment is None:
            return {bridge}
        await self._plug(segment, network, links.get(segment))
        return {bridge, segment}

    async def _segment(self, network: Network, links: dict[str, dict[str, Any]]) -> str | None:
        """The device that carries the network off this host, created if ours to create."""
        if network.network_type == "vxlan":
            return await self._vxlan(network, links)
        if network.network_type == "vlan":
            return await self._vlan(network, links)
        if network.network_type == "flat" and network.physical_network:
            return self._physical(network)
        return None

    def _physical(self, network: Network) -> str:
        try:
            return self.physical_interfaces[network.physical_network or ""]
        except KeyError:
            raise NetdevError(
                f"network {network.id}: no interface for physical network "
                f"{network.physical_network!r} on this host"
            ) from None

    async def _vlan(self, network: Network, links: dict[str, dict[str, Any]]) -> str:
        name = self.names.link(VLAN, network.id)
        vlan_id = network.segmentation_id
        info = links.get(name, {}).get("linkinfo", {}).get("info_data", {})
        if name in links and info.get("id") != vlan_id:
            await ip.delete_link(name)
            links.pop(name)
        if name not in links:
            parent = self._physical(network)
            await ip.ip(
                "link", "add", "link", parent, "name", name, "type", "vlan", "id", str(vlan_id)
            )
        return name

    async def _vxlan(self, network: Network, links: dict[str, dict[str, Any]]) -> str:
        if self.vxlan is None:
            raise NetdevError(f"network {network.id} is VXLAN but this host has no VXLAN config")
        name = self.names.link(VXLAN, network.id)
        info = links.get(name, {}).get("linkinfo", {}).get("info_data", {})
        if name in links and info.get("id") != network.segmentation_id:
            await ip.delete_link(name)
            links.pop(name)
        if name not in links:
            args = [
                "id",
                str(network.segmentation_id),
                "local",
                self.vxlan.local_ip,
                "dstport",
                str(self.vxlan.port),
            ]
            if self.vxlan.group:
                args += ["group", self.vxlan.group]
            if self.vxlan.device:
                args += ["dev", self.vxlan.device]
            await ip.ip("link", "add", name, "type", "vxlan", *args)
        await self._converge_peers(name)
        return name

    async def _converge_peers(self, device: str) -> None:
        """One all-zeros (flood) FDB entry per remote peer, and no others."""
        shown = json.loads(await run("bridge", "-json", "fdb", "show", "dev", device) or "[]")
        present = {e["dst"] for e in shown if e.get("mac") == ALL_ZEROS_MAC and "dst" in e}
        wanted = set(self.vxlan.remote_ips) if self.vxlan else set()
        for peer in sorted(present - wanted):
            await run("bridge", "fdb", "del", ALL_ZEROS_MAC, "dev", device, "dst", peer)
        for peer in sorted(wanted - present):
            await run("bridge", "fdb", "append", ALL_ZEROS_MAC, "dev", device, "dst", peer)

    async def _plug(self, name: str, network: Network, link: dict[str, Any] | None) -> None:
        """Put a device on the network's bridge with the network's MTU, up."""
        bridge = self.names.bridge(network.id)
        settings = ["mtu", str(network.mtu), "up"]
        if link is None or link.get("master") != bridge:
            settings = ["master", bridge, *settings]
        await ip.set_link(name, *settings)

    async def _delete_stale(self, links: dict[str, dict[str, Any]], wanted: set[str]) -> None:
        # Ports and segment devices first, so that no bridge is deleted under them.
        for kinds in ((TAP, VXLAN, VLAN), (BRIDGE,)):
            for name in sorted(links):
                if name not in wanted and any(self.names.owns(name, k) for k in kinds):
                    await ip.delete_link(name)


async def plug_namespace_port(
    names: Names,
    network: Network,
    port: Port,
    outside: str,
    inside: str,
    namespace: str,
    addresses: set[str],
) -> None:
    """A namespace's port on a network (a router's or DHCP server's): a veth whose host
    end `outside` is on the network's bridge and whose end `inside` the namespace holds
    with the port's MAC and exactly `addresses`."""
    if inside not in await ip.links(namespace):
        await ip.delete_link(outside)  # a half left by an interrupted run
        await ip.ip(
            "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", namespace
        )
    mtu = str(network.mtu)
    await ip.set_link(outside, "master", names.bridge(network.id), "mtu", mtu, "up")
    await ip.set_link(inside, "address", port.mac_address, "mtu", mtu, "up", netns=namespace)
    await ip.converge_addresses(inside, addresses, netns=namespace)
