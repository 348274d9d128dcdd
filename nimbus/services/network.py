"""The network agent: turns the network tables into this host's data plane.

On start it applies the whole topology (a restarted agent rebuilds the same objects:
the data plane converges, it never duplicates), then watches the `network` change
counter (one primary-key read every `poll_interval`) and, when it moved, reads the
topology again and applies it: a change of security-group rules or memberships alone
reloads only the nftables tables (≈ 20 ms), anything else converges everything. After
each pass it writes back what it wired (nimbus.network.wiring): port and floating IP
statuses, and the DHCP ports its networks need. It also serves the metadata service
(nimbus.api.metadata) through the listeners the data plane opens in router and DHCP
namespaces.

Kernel objects carry a tag derived from the cloud's data directory, so two clouds on
one machine (as the test suite runs them) never touch each other's objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from nimbus.api.metadata.service import MetadataService
from nimbus.config import Settings
from nimbus.db import changes
from nimbus.db.engine import Database
from nimbus.netdev import ip, nft
from nimbus.netdev.bridges import VxlanConfig
from nimbus.netdev.commands import NetdevError, run
from nimbus.netdev.dataplane import DataPlane
from nimbus.netdev.model import Topology
from nimbus.netdev.names import Names
from nimbus.network import topology as topologies
from nimbus.network import wiring
from nimbus.network.options import NetworkOptions
from nimbus.rpc import Bus
from nimbus.services.base import Deps, Service, launch

LOG = logging.getLogger(__name__)

TOOLS = ("ip", "bridge", "nft", "dnsmasq")
#: The nftables families of the security-group tables (nimbus.netdev.secgroups).
FAMILIES = ("bridge", "inet")
#: A network bridge of any agent's tag (nimbus.netdev.names: TAG-<network id>).
OTHER_AGENTS_BRIDGE = re.compile(r"[a-z][a-z0-9]{0,4}-[0-9a-f]{1,14}")
#: On tmpfs, as the kernel objects it describes: both are gone after a reboot.
REGISTRY = Path("/run/nimbus/network-agents")


@dataclass(frozen=True)
class AgentOptions:
    """How one agent names its objects, where it keeps state, what it serves."""

    tag: str
    state_dir: Path
    host: str
    #: Seconds between two reads of the change counter.
    poll_interval: float = 0.2
    #: Seconds before a pass that failed is tried again.
    retry_interval: float = 5.0
    #: Seconds between looks at instance ports that are not wired yet.
    status_interval: float = 1.0
    #: Seconds between looks at the ports when all are wired: a guest whose QEMU exits
    #: (stopped, crashed) takes its tap's carrier with it and changes no row, and its
    #: port must go DOWN, as Neutron's L2 agent reports a vanished tap (the compute
    #: agent's guest check runs every 5 s too).
    wired_status_interval: float = 5.0
    placement: topologies.Placement = field(default_factory=topologies.Placement)
    vxlan: VxlanConfig | None = None
    #: Where the metadata listeners bind inside each router/DHCP namespace.
    metadata_port: int = 9697
    #: Where agents note each tag's state directory, so that a later agent removes the
    #: data plane of a cloud whose directory is gone (None: neither note nor collect).
    registry: Path | None = REGISTRY


def cloud_tag(data_dir: Path) -> str:
    """`n` and four hex digits of the data directory's path: stable across restarts,
    distinct between the clouds of one machine (a clash is 1 in 65,536)."""
    return "n" + hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:4]


def options_for(settings: Settings) -> AgentOptions:
    """The all-in-one agent of a `nimbus up`/`nimbus serve network-agent` process."""
    return AgentOptions(
        tag=cloud_tag(settings.data_dir),
        state_dir=settings.data_dir / "network",
        host=settings.compute.host,
    )


async def dataplane_unavailable() -> str | None:
    """Why this process cannot build a data plane here, or None if it can: it needs
    root, the tools, and `ip netns` working."""
    if os.geteuid() != 0:
        return "not root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        await ip.namespaces()
    except NetdevError as error:
        return f"ip netns does not work: {error}"
    return None


@dataclass
class _Applied:
    view: topologies.HostView
    counter: int


async def take_over_host_addresses(names: Names, host_addresses: dict[str, str]) -> None:
    """Take this cloud's external host addresses (172.24.4.1/24 for every cloud's
    `public`) off the bridges of other clouds' agents, stopped or not: only one cloud
    at a time can own them, and the last one started does. Other interfaces are never
    touched."""
    ours = {names.bridge(network_id) for network_id in host_addresses}
    wanted = set(host_addresses.values())
    for link in await ip.ip_json("-4", "addr", "show", "type", "bridge"):
        name = link.get("ifname", "")  # `ip -json` lists filtered-out links as {}
        if name in ours or not OTHER_AGENTS_BRIDGE.fullmatch(name):
            continue
        for entry in link.get("addr_info", []):
            address = f"{entry['local']}/{entry['prefixlen']}"
            if address in wanted:
                LOG.warning("taking %s over from %s (another cloud's bridge)", address, name)
                await ip.ip("addr", "del", address, "dev", name)


def _without_groups(topology: Topology) -> Topology:
    return dataclasses.replace(topology, security_groups=())


class NetworkAgent(Service):
    binary = "nimbus-network-agent"
    topic = "network"

    def __init__(self, deps: Deps, options: AgentOptions, network_options: NetworkOptions) -> None:
        super().__init__(deps, options.host)
        self.agent_options = options
        self.network_options = network_options
        self.names = Names(options.tag)
        self.plane = DataPlane(
            self.names,
            options.state_dir,
            metadata_handler=MetadataService(deps.db),
            metadata_port=options.metadata_port,
            vxlan=options.vxlan,
            physical_interfaces=options.placement.physical_interfaces,
        )
        self.passes = 0  # full convergences, for tests and logs
        self._applied: _Applied | None = None
        self._poller: asyncio.Task[None] | None = None
        self._next_status_check = 0.0

    async def _register(self) -> None:
        """No compute service row: a network agent is not a Nova service."""

    async def _report_state(self) -> None:
        """No heartbeat either (Neutron's agents API is not implemented)."""

    async def _start(self) -> None:
        await asyncio.to_thread(self.agent_options.state_dir.mkdir, parents=True, exist_ok=True)
        async with self._db.transaction() as session:
            await changes.ensure(session, changes.NETWORK)
        try:  # the cloud keeps serving if the host refuses a change; the poller retries
            if self.agent_options.registry is not None:
                await collect_gone_clouds(self.agent_options.registry)
                await asyncio.to_thread(note, self.agent_options)
            await self._converge()
        except (NetdevError, OSError):
            LOG.exception("network agent %s: first convergence failed", self.host)
        await super()._start()
        self._poller = asyncio.create_task(self._poll(), name=f"{self.host}:network-poll")

    async def _stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await super()._stop()
        await self.plane.close()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.agent_options.poll_interval)
            try:
                async with self._db.reader() as session:
                    counter = await changes.current(session, changes.NETWORK)
                if self._applied is None or counter != self._applied.counter:
                    await self._converge()
                elif time.monotonic() >= self._next_status_check:
                    await self._report(self._applied)
            except asyncio.CancelledError:
                raise
            except Exception:  # a later pass tries again from scratch
                LOG.exception("network agent %s: convergence failed", self.host)
                self._applied = None
                await asyncio.sleep(self.agent_options.retry_interval)

    async def _converge(self) -> topologies.HostView:
        """One pass: DHCP ports, read, apply what changed, report what is wired."""
        placement = self.agent_options.placement
        if placement.host is None or placement.network_node:
            async with self._db.transaction() as session:
                await wiring.ensure_dhcp_ports(session, self.network_options, self.host)
        async with self._db.reader() as session:
            counter = await changes.current(session, changes.NETWORK)
            view = await topologies.read(session, placement)
        await self._apply(view)
        self._applied = _Applied(view, counter)
        await self._report(self._applied)
        return view

    async def _report(self, applied: _Applied) -> None:
        """Write the ports' and floating IPs' statuses. Tap carriers come and go with
        guests and change no row, so the poller looks again every `status_interval`
        while an instance port is not wired (its guest has not opened the tap yet), and
        every `wired_status_interval` once all are (a guest may go away)."""
        statuses = await self._statuses(applied.view.topology)
        async with self._db.transaction() as session:
            await wiring.report(session, statuses, list(applied.view.floating_ip_ids))
        options = self.agent_options
        unwired = "DOWN" in statuses.values()
        interval = options.status_interval if unwired else options.wired_status_interval
        self._next_status_check = time.monotonic() + interval

    async def _apply(self, view: topologies.HostView) -> None:
        """Nothing when nothing changed, the nftables tables alone when only security
        groups did, else a full convergence."""
        before = self._applied.view if self._applied else None
        if before is None or before.host_addresses != view.host_addresses:
            self.plane.host_addresses = dict(view.host_addresses)
        elif before.topology == view.topology:
            return
        elif _without_groups(before.topology) == _without_groups(view.topology):
            await self.plane.apply_security_groups(view.topology)
            return
        await self.plane.apply(view.topology)
        await take_over_host_addresses(self.names, view.host_addresses)
        self.passes += 1

    async def _statuses(self, topology: Topology) -> dict[str, str]:
        """ACTIVE for the network's own ports (their namespaces hold them now) and for
        instance ports whose tap is on its bridge with carrier; DOWN for the others."""
        links = await ip.links()
        statuses = {}
        for port in topology.ports:
            if not port.is_instance_port:
                statuses[port.id] = "ACTIVE"
                continue
            link = links.get(topologies.tap_name(self.names, port.id), {})
            wired = link.get("master") == self.names.bridge(port.network_id)
            statuses[port.id] = (
                "ACTIVE" if wired and "LOWER_UP" in link.get("flags", []) else "DOWN"
            )
        return statuses


async def clear(options: AgentOptions) -> None:
    """Remove every kernel object and DHCP state of this agent's tag: for a cloud that
    is gone for good (a test's, a deleted data directory). A stopped agent leaves its
    data plane in place on purpose: guests keep their network while it restarts."""
    plane = DataPlane(Names(options.tag), options.state_dir)
    prefixes = (plane.names.router_namespace(""), plane.names.dhcp_namespace(""))
    for namespace in sorted(await ip.namespaces()):
        if namespace.startswith(prefixes):  # a dnsmasq whose pid file went with its cloud
            for pid in (await run("ip", "netns", "pids", namespace)).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
    await plane.apply(Topology())
    tables = [nft.replace_table(family, plane.names.table("sg"), None) for family in FAMILIES]
    await nft.apply("".join(tables))


def note(options: AgentOptions) -> None:
    """Record which state directory the agent's tag belongs to."""
    assert options.registry is not None
    options.registry.mkdir(parents=True, exist_ok=True)
    (options.registry / options.tag).write_text(str(options.state_dir.resolve()))


async def collect_gone_clouds(registry: Path) -> list[str]:
    """Clear the data plane of every noted tag whose state directory no longer exists
    (its cloud was deleted, as tests delete theirs); the tags cleared."""
    cleared = []
    for entry in sorted(registry.glob("*")) if registry.is_dir() else []:
        state_dir = Path(entry.read_text().strip())
        if state_dir.exists():
            continue
        LOG.warning("removing the data plane of tag %s: %s is gone", entry.name, state_dir)
        await clear(AgentOptions(tag=entry.name, state_dir=state_dir, host="", registry=None))
        entry.unlink(missing_ok=True)
        cleared.append(entry.name)
    return cleared


async def start(db: Database, bus: Bus, settings: Settings) -> NetworkAgent:
    """Start this process's network agent (it runs until `nimbus.services.base.halt`)."""
    from nimbus.services.runner import deps_for

    deps = deps_for(db, bus, settings.compute, settings.data_dir, settings.service_down_time)
    agent = NetworkAgent(deps, options_for(settings), settings.network)
    await launch(agent)
    return agent
