"""One host's whole data plane, converged in a safe order.

Security groups go first: their rules name taps, not link indexes, so a new port is
filtered from its first frame. Then bridges (which everything else plugs into), the host's
external address, routers, DHCP, and last the metadata listeners, which need the router
namespaces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from nimbus.netdev.bridges import Bridges, VxlanConfig
from nimbus.netdev.dhcp import Dhcp
from nimbus.netdev.external import ensure_host_address
from nimbus.netdev.metadata import Handler, MetadataProxy
from nimbus.netdev.model import Topology
from nimbus.netdev.names import Names
from nimbus.netdev.routers import Routers
from nimbus.netdev.secgroups import SecurityGroups


class DataPlane:
    """What a network agent drives: `apply(topology)` after every change and at start."""

    def __init__(
        self,
        names: Names,
        state_dir: Path,
        *,
        metadata_handler: Handler | None = None,
        metadata_port: int = 9697,
        vxlan: VxlanConfig | None = None,
        physical_interfaces: Mapping[str, str] | None = None,
        host_addresses: Mapping[str, str] | None = None,
    ) -> None:
        self.names = names
        self.security_groups = SecurityGroups(names)
        self.bridges = Bridges(names, vxlan=vxlan, physical_interfaces=physical_interfaces)
        self.routers = Routers(names)
        self.dhcp = Dhcp(names, Path(state_dir) / "dhcp")
        self.metadata = (
            MetadataProxy(names, metadata_handler, port=metadata_port)
            if metadata_handler is not None
            else None
        )
        self.host_addresses = dict(host_addresses or {})
        self._lock = asyncio.Lock()  # one convergence at a time: each reads, then changes

    async def apply(self, topology: Topology) -> None:
        """Converge every kernel object of this agent to `topology`."""
        async with self._lock:
            await self._apply(topology)

    async def apply_security_groups(self, topology: Topology) -> None:
        """Converge only the security-group tables: what a rule or membership change needs,
        in one nft transaction (≈ 20 ms), without touching links or namespaces."""
        async with self._lock:
            await self.security_groups.sync(topology)

    async def _apply(self, topology: Topology) -> None:
        await self.security_groups.sync(topology)
        await self.bridges.sync(topology)
        for network in topology.networks:
            if network.id in self.host_addresses:
                address = self.host_addresses[network.id]
                await ensure_host_address(self.names, network, address)
        await self.routers.sync(topology)
        await self.dhcp.sync(topology)
        if self.metadata is not None:
            await self.metadata.sync(topology)

    async def close(self) -> None:
        """Stop this process's listeners; the kernel objects stay (a restart reuses them)."""
        if self.metadata is not None:
            await self.metadata.close()
