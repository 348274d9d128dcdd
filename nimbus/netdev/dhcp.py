"""DHCP per network: a namespace with the network's DHCP port on the bridge and one
dnsmasq in it, DHCP only (`--port=0`, no DNS), static leases from the ports.

dnsmasq rereads its hosts and options files on SIGHUP, so a port change costs a signal,
not a restart; only a change of the subnets (its command line) restarts it. State (pid,
files, leases) lives under `state_dir/<network id>/`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

from nimbus.netdev import ip
from nimbus.netdev.bridges import plug_namespace_port
from nimbus.netdev.commands import run
from nimbus.netdev.model import METADATA_ADDRESS, Network, Port, Subnet, Topology
from nimbus.netdev.names import DHCP, Names, inner


class Dhcp:
    """Converges the DHCP namespaces and dnsmasq processes of one host."""

    def __init__(self, names: Names, state_dir: Path, *, lease_seconds: int = 86400) -> None:
        self.names = names
        self.state_dir = Path(state_dir)
        self.lease_seconds = lease_seconds

    async def sync(self, topology: Topology) -> None:
        wanted: set[str] = set()
        for network in topology.networks:
            port = topology.dhcp_port(network.id)
            if port is not None:
                await self._serve(network, port, topology)
                wanted.add(network.id)
        await self._delete_stale(wanted)

    def directory(self, network_id: str) -> Path:
        return self.state_dir / network_id

    async def _serve(self, network: Network, port: Port, topology: Topology) -> None:
        namespace = self.names.dhcp_namespace(network.id)
        outside, inside = self.names.link(DHCP, network.id), inner("ns-", port.id)
        await ip.ensure_namespace(namespace)
        addresses = {topology.interface(fixed) for fixed in port.fixed_ips}
        await plug_namespace_port(self.names, network, port, outside, inside, namespace, addresses)

        directory = self.directory(network.id)
        directory.mkdir(parents=True, exist_ok=True)
        argv = self._argv(network, inside, directory)
        hosts_changed, opts_changed, argv_changed = await asyncio.to_thread(
            _write_all,
            {
                directory / "hosts": _hosts(network, topology),
                directory / "opts": _options(network, port, topology),
                directory / "argv": "\n".join(argv) + "\n",
            },
        )
        pid = _running(directory)
        if pid is not None and argv_changed:
            await _stop(pid)
            pid = None
        if pid is None:
            await run(*argv, netns=namespace)
        elif hosts_changed or opts_changed:
            os.kill(pid, signal.SIGHUP)

    def _argv(self, network: Network, interface: str, directory: Path) -> list[str]:
        ranges = [
            f"--dhcp-range=set:{_tag(subnet)},{subnet.network.network_address},static,"
            f"{subnet.network.netmask},{self.lease_seconds}s"
            for subnet in network.dhcp_subnets
        ]
        return [
            "dnsmasq",
            "--conf-file=/dev/null",
            "--no-hosts",
            "--no-resolv",
            "--port=0",
            "--user=root",
            f"--interface={interface}",
            "--except-interface=lo",
            "--bind-interfaces",
            "--dhcp-authoritative",
            f"--pid-file={directory / 'pid'}",
            f"--dhcp-hostsfile={directory / 'hosts'}",
            f"--dhcp-optsfile={directory / 'opts'}",
            f"--dhcp-leasefile={directory / 'leases'}",
            *ranges,
        ]

    async def _delete_stale(self, wanted: set[str]) -> None:
        prefix = self.names.dhcp_namespace("")
        stale = {ns[len(prefix) :] for ns in await ip.namespaces() if ns.startswith(prefix)}
        if self.state_dir.is_dir():
            stale |= {entry.name for entry in self.state_dir.iterdir() if entry.is_dir()}
        for network_id in sorted(stale - wanted):
            directory = self.directory(network_id)
            pid = _running(directory)
            if pid is not None:
                await _stop(pid)
            if self.names.dhcp_namespace(network_id) in await ip.namespaces():
                await ip.delete_namespace(self.names.dhcp_namespace(network_id))
            shutil.rmtree(directory, ignore_errors=True)
        wanted_links = {self.names.link(DHCP, network_id) for network_id in wanted}
        for name in sorted(await ip.links()):
            if self.names.owns(name, DHCP) and name not in wanted_links:
                await ip.delete_link(name)


def _tag(subnet: Subnet) -> str:
    return f"subnet-{subnet.id}"


def _hosts(network: Network, topology: Topology) -> str:
    """One static lease per (port, IPv4 address): `MAC,IP,hostname`."""
    served = {subnet.id for subnet in network.dhcp_subnets}
    lines = []
    for port in sorted(topology.ports, key=lambda p: p.id):
        if port.network_id != network.id or not port.is_instance_port:
            continue
        for fixed in port.fixed_ips:
            if fixed.subnet_id in served:
                name = port.hostname or "host-" + fixed.ip_address.replace(".", "-")
                lines.append(f"{port.mac_address},{fixed.ip_address},{name}")
    return "".join(f"{line}\n" for line in lines)


def _options(network: Network, port: Port, topology: Topology) -> str:
    """Per-subnet router, MTU (1450 on VXLAN), DNS servers and classless static routes: the
    subnet's host
    routes, and on a network without a router the metadata address via this DHCP port.
    Option 121 replaces option 3 in the client, so it repeats the default route."""
    isolated = topology.is_isolated(network.id)
    lines = []
    for subnet in network.dhcp_subnets:
        tag = _tag(subnet)
        if subnet.gateway_ip:
            lines.append(f"tag:{tag},option:router,{subnet.gateway_ip}")
        else:
            lines.append(f"tag:{tag},option:router")
        lines.append(f"tag:{tag},option:mtu,{network.mtu}")
        if subnet.dns_nameservers:
            lines.append(f"tag:{tag},option:dns-server,{','.join(subnet.dns_nameservers)}")
        routes = [f"{dest},{hop}" for dest, hop in subnet.host_routes]
        own = [f.ip_address for f in port.fixed_ips if f.subnet_id == subnet.id]
        if isolated and own:
            routes.append(f"{METADATA_ADDRESS}/32,{own[0]}")
        if routes:
            if subnet.gateway_ip:
                routes.append(f"0.0.0.0/0,{subnet.gateway_ip}")
            lines.append(f"tag:{tag},option:classless-static-route,{','.join(routes)}")
    return "".join(f"{line}\n" for line in lines)


def _write_all(files: dict[Path, str]) -> list[bool]:
    """Write each file (in a worker thread: the event loop never waits on the disk);
    whether each changed."""
    return [_write(path, text) for path, text in files.items()]


def _write(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds it; whether it changed."""
    if path.exists() and path.read_text() == text:
        return False
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return True


def _running(directory: Path) -> int | None:
    """The pid of this directory's dnsmasq if it still runs."""
    try:
        pid = int((directory / "pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(directory / "pid").encode() in cmdline else None


async def _stop(pid: int) -> None:
    """SIGTERM, then SIGKILL if it has not gone within a second."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(20):
            if not _alive(pid):
                return
            await asyncio.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie waiting for a parent that never reaps."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
