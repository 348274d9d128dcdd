"""What the network agent writes back: DHCP ports, and the status of what it wired.

Neutron's DHCP agent owns its networks' DHCP ports; so does ours: a network with an
IPv4 subnet that has DHCP on gets one port (`network:dhcp`), holding an address on
each such subnet, which the data plane gives to dnsmasq's interface. Once the data
plane is applied, a port is ACTIVE when it is wired: a router's or DHCP server's port
as soon as its namespace holds it, an instance port when its tap is on the bridge with
carrier (a guest holds the other end), DOWN otherwise; a floating IP whose NAT is in
place is ACTIVE. Statuses are written only when they differ, so a steady data plane
writes nothing (and moves no change counter).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import FloatingIp, IpAllocation, Network, Port, Subnet
from nimbus.netdev.model import DHCP
from nimbus.network import errors, floatingips, ports
from nimbus.network.ipam import IpRequest
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import SERVICE

LOG = logging.getLogger(__name__)


def dhcp_device_id(network_id: str) -> str:
    """The `device_id` of a network's DHCP port (upstream: dhcp<host uuid>-<network>)."""
    return f"dhcp-{network_id}"


async def ensure_dhcp_ports(session: AsyncSession, options: NetworkOptions, host: str) -> int:
    """Give every network that needs DHCP its port, with an address on each of its IPv4
    DHCP subnets; the number of ports created or changed."""
    dhcp_subnets: dict[str, list[Subnet]] = {}
    query = select(Subnet).where(Subnet.enable_dhcp, Subnet.ip_version == 4)
    for subnet in (await session.scalars(query.order_by(Subnet.created_at))).all():
        dhcp_subnets.setdefault(subnet.network_id, []).append(subnet)
    existing = {
        port.network_id: port
        for port in (await session.scalars(select(Port).where(Port.device_owner == DHCP))).all()
    }
    holding = await ports.fixed_ips(session, [p.id for p in existing.values()])
    changed = 0
    for network_id, subnets in sorted(dhcp_subnets.items()):
        port = existing.get(network_id)
        try:
            if port is None:
                await _create_dhcp_port(session, options, network_id, subnets, host)
                changed += 1
                continue
            have = {ip["subnet_id"] for ip in holding[port.id]}
            missing = [IpRequest(subnet_id=s.id) for s in subnets if s.id not in have]
            if missing:
                kept = [IpRequest(ip["subnet_id"], ip["ip_address"]) for ip in holding[port.id]]
                await ports.update(session, SERVICE, port, {"fixed_ips": kept + missing})
                changed += 1
        except errors.NeutronError as error:  # a full pool or quota: no DHCP there, say why
            LOG.warning("no DHCP port for network %s: %s", network_id, error)
    return changed


async def _create_dhcp_port(
    session: AsyncSession,
    options: NetworkOptions,
    network_id: str,
    subnets: list[Subnet],
    host: str,
) -> None:
    network = await session.get(Network, network_id)
    assert network is not None
    async with session.begin_nested():  # a failure leaves the other networks' work intact
        await ports.create(
            session,
            SERVICE,
            options,
            network_id=network_id,
            project_id=network.project_id,
            fixed_ips=[IpRequest(subnet_id=s.id) for s in subnets],
            device_owner=DHCP,
            device_id=dhcp_device_id(network_id),
            host_id=host,
        )


async def report(
    session: AsyncSession, statuses: Mapping[str, str], floating_ip_ids: list[str]
) -> int:
    """Write each port's status (`statuses`: port id → ACTIVE/DOWN) and mark the given
    floating IPs ACTIVE, where they differ; the number of rows changed."""
    changed = 0
    if statuses:
        query = select(Port.id, Port.status).where(Port.id.in_(list(statuses)))
        for port_id, status in (await session.execute(query)).all():
            if status != statuses[port_id]:
                await ports.set_status(session, port_id, statuses[port_id])
                changed += 1
    if floating_ip_ids:
        query = select(FloatingIp.id).where(
            FloatingIp.id.in_(floating_ip_ids), FloatingIp.status != "ACTIVE"
        )
        for fip_id in (await session.scalars(query)).all():
            await floatingips.set_status(session, fip_id, "ACTIVE")
            changed += 1
    return changed


async def port_of_address(session: AsyncSession, network_id: str, address: str) -> Port | None:
    """The port holding `address` on `network_id` (what the metadata service trusts:
    anti-spoofing pins a guest's source address to its port's)."""
    query = select(Port).join(IpAllocation, IpAllocation.port_id == Port.id)
    query = query.where(IpAllocation.network_id == network_id, IpAllocation.ip_address == address)
    return await session.scalar(query)
