"""The host's own foot on the external network (what `nimbus up` calls 'public'): an
address on the external network's bridge, so that the host reaches routers' gateway
addresses and floating IPs directly, and routers have a next hop towards the world."""

from __future__ import annotations

import ipaddress

from nimbus.netdev import ip
from nimbus.netdev.model import Network
from nimbus.netdev.names import Names


async def ensure_host_address(names: Names, network: Network, address: str) -> None:
    """Give the external network's bridge (created by `Bridges`) the host address
    `address` (ADDR/PREFIXLEN, e.g. 172.24.4.1/24) and nothing else."""
    ipaddress.ip_interface(address)  # a malformed address fails here, before any change
    await ip.converge_addresses(names.bridge(network.id), {address})
