"""Floating IPs: an address of an external network, mapped onto a port's fixed IP.

The address is held by a port on the external network (device_owner
network:floatingip), so IPAM's uniqueness covers it too. Association needs a path:
a router with an interface on the fixed IP's subnet and its gateway on the floating
IP's network; `router_id` records that router, which the data plane DNATs through.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import FloatingIp
from nimbus.network import errors, networks, ports, quotas, records, routers
from nimbus.network.ipam import IpRequest
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import SERVICE, Scope

STATUSES = ("ACTIVE", "DOWN", "ERROR")


async def get(session: AsyncSession, scope: Scope, fip_id: str) -> FloatingIp:
    return await records.get_owned(
        session, FloatingIp, fip_id, scope, lambda i: errors.FloatingIPNotFound(floatingip_id=i)
    )


async def listing(session: AsyncSession, scope: Scope) -> list[FloatingIp]:
    return await records.listing(session, FloatingIp, scope)


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="floatingip", msg=msg)


async def create(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    *,
    project_id: str,
    floating_network_id: str,
    floating_ip_address: str | None = None,
    subnet_id: str | None = None,
    port_id: str | None = None,
    fixed_ip_address: str | None = None,
    **attributes: Any,
) -> FloatingIp:
    network = await networks.get(session, scope, floating_network_id)
    if not network.external:
        raise _bad(f"Network {floating_network_id} is not a valid external network")
    await quotas.check(session, options, project_id, "floatingip")
    fip_id = str(uuid.uuid4())
    request = None
    if floating_ip_address or subnet_id:
        request = [IpRequest(subnet_id=subnet_id, ip_address=floating_ip_address)]
    port = await ports.create(
        session,
        SERVICE,
        options,
        network_id=floating_network_id,
        project_id="",
        fixed_ips=request,
        device_owner=ports.FLOATING_IP,
        device_id=fip_id,
    )
    addresses = (await ports.fixed_ips(session, [port.id]))[port.id]
    v4 = [ip for ip in addresses if ipaddress.ip_address(ip["ip_address"]).version == 4]
    if not v4:
        raise errors.ExternalIpAddressExhausted(net_id=floating_network_id)
    fip = FloatingIp(
        id=fip_id,
        project_id=project_id,
        floating_network_id=floating_network_id,
        floating_ip_address=v4[0]["ip_address"],
        floating_port_id=port.id,
        **attributes,
    )
    session.add(fip)
    await session.flush()
    if port_id:
        await associate(session, scope, fip, port_id, fixed_ip_address)
    return fip


async def associate(
    session: AsyncSession,
    scope: Scope,
    fip: FloatingIp,
    port_id: str | None,
    fixed_ip_address: str | None = None,
) -> None:
    """Point the floating IP at a port's fixed IPv4 address (or nowhere: port None)."""
    if port_id is None:
        if fixed_ip_address:
            raise _bad("fixed_ip_address cannot be specified without a port_id")
        records.update(
            fip,
            {"fixed_port_id": None, "fixed_ip_address": None, "router_id": None, "status": "DOWN"},
        )
        await session.flush()
        return
    port = await ports.get(session, scope, port_id)
    if port.device_owner.startswith("network:"):
        raise _bad(
            f"Port {port.id} has owner {port.device_owner} and therefore cannot be used "
            "with floating IP"
        )
    candidates = [
        ip
        for ip in (await ports.fixed_ips(session, [port.id]))[port.id]
        if ipaddress.ip_address(ip["ip_address"]).version == 4
    ]
    if fixed_ip_address:
        chosen = next((ip for ip in candidates if ip["ip_address"] == fixed_ip_address), None)
        if chosen is None:
            raise _bad(f"Port {port.id} does not have fixed ip {fixed_ip_address}")
    elif len(candidates) == 1:
        chosen = candidates[0]
    elif not candidates:
        raise _bad(f"Port {port.id} does not have any IPv4 address")
    else:
        raise _bad(
            f"Port {port.id} has multiple fixed IPv4 addresses. Must provide a specific "
            "IPv4 address when assigning a floating IP"
        )
    router = await routers.router_for(session, chosen["subnet_id"], fip.floating_network_id)
    if router is None:
        raise errors.ExternalGatewayForFloatingIPNotFound(
            external_network_id=fip.floating_network_id,
            subnet_id=chosen["subnet_id"],
            port_id=port.id,
        )
    holder = await session.scalar(
        select(FloatingIp).where(
            FloatingIp.fixed_port_id == port.id,
            FloatingIp.fixed_ip_address == chosen["ip_address"],
            FloatingIp.id != fip.id,
        )
    )
    if holder is not None:
        raise errors.FloatingIPPortAlreadyAssociated(
            floating_ip_address=fip.floating_ip_address,
            fip_id=fip.id,
            port_id=port.id,
            fixed_ip=chosen["ip_address"],
            net_id=holder.floating_network_id,
        )
    records.update(
        fip,
        {
            "fixed_port_id": port.id,
            "fixed_ip_address": chosen["ip_address"],
            "router_id": router.id,
        },
    )
    await session.flush()


async def update(
    session: AsyncSession, scope: Scope, fip: FloatingIp, changes: dict[str, Any]
) -> FloatingIp:
    changes = dict(changes)
    if "port_id" in changes:
        await associate(
            session, scope, fip, changes.pop("port_id"), changes.pop("fixed_ip_address", None)
        )
    records.update(fip, changes)
    await session.flush()
    return fip


async def delete_floatingip(session: AsyncSession, fip: FloatingIp) -> None:
    port = await ports.get(session, SERVICE, fip.floating_port_id)
    await session.delete(fip)
    await ports.delete_port(session, port, managed=True)


async def set_status(session: AsyncSession, fip_id: str, status: str) -> FloatingIp:
    """What the data plane reports once the floating IP's NAT is in place (ACTIVE)."""
    if status not in STATUSES:
        raise ValueError(f"unknown floating IP status {status!r}")
    fip = await get(session, SERVICE, fip_id)
    records.update(fip, {"status": status})
    await session.flush()
    return fip
