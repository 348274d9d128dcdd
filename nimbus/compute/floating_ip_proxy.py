"""Nova's floating IP proxy (os-floating-ips and os-floating-ip-pools, deprecated at
2.36; the addFloatingIp/removeFloatingIp server actions, removed at 2.44) over the
Neutron domain.

A pool is an external network, named by its name (or id); a floating IP shows the
server behind it through its fixed port's device_id, which is also how a server's
addresses are found: its ports are the ones whose device_id is the server's uuid.
Without a pool, Nimbus allocates from the `public` network its bootstrap creates
(Nova's default_floating_pool option, whose default "nova" names no network here).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import FloatingIp, Network, Port
from nimbus.errors import BadRequest, Conflict, Forbidden, NimbusError, NotFound
from nimbus.network import errors, floatingips, networks, ports
from nimbus.network.bootstrap import PUBLIC_NAME
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

DEFAULT_POOL = PUBLIC_NAME


def document(fip: FloatingIp, pool: Network | None, device_id: str | None) -> dict[str, Any]:
    """Nova's view: the pool by name (else id), the server by its port's device_id."""
    return {
        "id": fip.id,
        "ip": fip.floating_ip_address,
        "fixed_ip": fip.fixed_ip_address,
        "instance_id": device_id or None,
        "pool": (pool.name or pool.id) if pool else fip.floating_network_id,
    }


async def documents(session: AsyncSession, rows: list[FloatingIp]) -> list[dict[str, Any]]:
    network_ids = {row.floating_network_id for row in rows}
    port_ids = {row.fixed_port_id for row in rows if row.fixed_port_id}
    pools = {
        n.id: n for n in await session.scalars(select(Network).where(Network.id.in_(network_ids)))
    }
    devices = dict(
        (await session.execute(select(Port.id, Port.device_id).where(Port.id.in_(port_ids)))).all()
    )
    return [
        document(row, pools.get(row.floating_network_id), devices.get(row.fixed_port_id or ""))
        for row in rows
    ]


async def list_for_project(session: AsyncSession, project_id: str) -> list[FloatingIp]:
    """The project's floating IPs (Nova filters by the caller's project, admin or not)."""
    return await floatingips.listing(session, Scope(project_id=project_id))


async def get(session: AsyncSession, scope: Scope, fip_id: str) -> FloatingIp:
    try:
        return await floatingips.get(session, scope, fip_id)
    except errors.FloatingIPNotFound:
        raise NotFound(f"Floating IP not found for ID {fip_id}") from None


async def pools(session: AsyncSession, scope: Scope) -> list[Network]:
    return [row for row in await networks.listing(session, scope) if row.external]


async def _pool_id(session: AsyncSession, scope: Scope, name_or_id: str) -> str:
    found = [row for row in await pools(session, scope) if name_or_id in (row.id, row.name)]
    if not found:
        raise NotFound("Floating IP pool not found.")
    if len(found) > 1:
        raise Conflict(f"Multiple floating IP pools matches found for name '{name_or_id}'")
    return found[0].id


async def allocate(
    session: AsyncSession, scope: Scope, options: NetworkOptions, pool: str | None
) -> FloatingIp:
    """A floating IP of `pool` for the caller's project; an exhausted pool is a 404
    and the quota a 403, as in Nova."""
    name = pool or DEFAULT_POOL
    network_id = await _pool_id(session, scope, name)
    try:
        return await floatingips.create(
            session,
            scope,
            options,
            project_id=scope.project_id,
            floating_network_id=network_id,
        )
    except (errors.ExternalIpAddressExhausted, errors.IpAddressGenerationFailure):
        raise NotFound(f"No more floating IPs in pool {name}.") from None
    except errors.OverQuota:
        raise Forbidden(f"IP allocation over quota in pool {name}.") from None


async def release(session: AsyncSession, scope: Scope, fip_id: str) -> None:
    """Delete the floating IP (disassociating it first, as Nova does)."""
    await floatingips.delete_floatingip(session, await get(session, scope, fip_id))


async def by_address(session: AsyncSession, scope: Scope, address: str) -> FloatingIp:
    query = scope.restrict(
        select(FloatingIp).where(FloatingIp.floating_ip_address == address),
        FloatingIp.project_id,
    )
    found = list((await session.scalars(query)).all())
    if not found:
        raise NotFound("floating IP not found")
    if len(found) > 1:
        raise Conflict(f"Multiple floating IPs are found for address {address}.")
    return found[0]


@dataclass(frozen=True)
class FixedIp:
    port_id: str
    address: str


async def fixed_ips_of(session: AsyncSession, server_id: str) -> list[FixedIp]:
    """The server's fixed addresses, port by port in creation order."""
    found = await ports.by_device(session, server_id)
    if not found:
        raise BadRequest("Instance network is not ready yet")
    addresses = await ports.fixed_ips(session, [port.id for port in found])
    return [FixedIp(port.id, ip["ip_address"]) for port in found for ip in addresses[port.id]]


def _chosen(fixed: list[FixedIp], address: str, fixed_address: str | None, server: str) -> FixedIp:
    """The fixed address asked for, else the server's first IPv4 address."""
    if not fixed:
        raise BadRequest("No fixed IPs associated to instance")
    if fixed_address:
        for ip in fixed:
            if ip.address == fixed_address:
                return ip
        raise BadRequest("Specified fixed address not assigned to instance")
    for ip in fixed:
        if ipaddress.ip_address(ip.address).version == 4:
            return ip
    raise BadRequest(
        f"Unable to associate floating IP {address} to any fixed IPs for instance "
        f"{server}. Instance has no fixed IPv4 addresses to associate."
    )


async def associate(
    session: AsyncSession, scope: Scope, server_id: str, address: str, fixed_address: str | None
) -> None:
    """Point floating IP `address` at the server's fixed address (moving it from any
    other server, as Neutron allows); what Neutron refuses is Nova's 400."""
    chosen = _chosen(await fixed_ips_of(session, server_id), address, fixed_address, server_id)
    fip = await by_address(session, scope, address)
    try:
        await floatingips.associate(session, scope, fip, chosen.port_id, chosen.address)
    except NimbusError as error:
        raise BadRequest(
            f"Unable to associate floating IP {address} to fixed IP {chosen.address} for "
            f"instance {server_id}. Error: {error.message}"
        ) from None


async def server_of(session: AsyncSession, fip: FloatingIp) -> str | None:
    """The uuid of the server the floating IP points at (its fixed port's device)."""
    if not fip.fixed_port_id:
        return None
    port = await session.get(Port, fip.fixed_port_id)
    return port.device_id if port is not None and port.device_id else None


async def disassociate(session: AsyncSession, scope: Scope, server_id: str, address: str) -> None:
    """Unhook `address` from the server; a 409 when it points elsewhere or nowhere."""
    fip = await by_address(session, scope, address)
    if await server_of(session, fip) != server_id:
        raise Conflict(f"Floating IP {address} is not associated with instance {server_id}.")
    await floatingips.associate(session, scope, fip, None)
