"""Networks: a layer-2 segment owned by a project, optionally shared or external.

Another project's network is visible when it is shared or external (that is how a
project finds the `public` network to take floating IPs from), and usable for ports
only when it is shared.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import Network, Port, Subnet
from nimbus.network import errors, quotas, records, segments
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

#: Ports that go away with their network: its DHCP ports, and on an external network
#: the ports of floating IPs (which the deletion removes too, as upstream does).
DHCP = "network:dhcp"
NETWORK_OWNED = (DHCP, "network:floatingip")
MIN_MTU = 68


def visible(scope: Scope) -> Select[tuple[Network]]:
    query = select(Network)
    if scope.admin:
        return query
    return query.where(
        or_(Network.project_id == scope.project_id, Network.shared, Network.external)
    )


async def get(session: AsyncSession, scope: Scope, network_id: str) -> Network:
    row = await session.scalar(visible(scope).where(Network.id == network_id))
    if row is None:
        raise errors.NetworkNotFound(net_id=network_id)
    return row


async def get_usable(session: AsyncSession, scope: Scope, network_id: str) -> Network:
    """A network the caller may put ports or subnets on: its own or a shared one."""
    row = await get(session, scope, network_id)
    if not (scope.owns(row.project_id) or row.shared):
        raise errors.NetworkNotFound(net_id=network_id)
    return row


async def listing(session: AsyncSession, scope: Scope) -> list[Network]:
    return list((await session.scalars(visible(scope).order_by(Network.created_at))).all())


def _check_mtu(options: NetworkOptions, network_type: str, mtu: int) -> None:
    biggest = options.mtu(network_type)
    if mtu > biggest:
        raise errors.InvalidInput(error_message=f"Requested MTU is too big, maximum is {biggest}")
    if mtu < MIN_MTU:
        raise errors.InvalidInput(error_message=f"'{mtu}' is too small - must be at least 68")


async def create(
    session: AsyncSession,
    options: NetworkOptions,
    *,
    project_id: str,
    network_type: str | None = None,
    physical_network: str | None = None,
    segmentation_id: int | None = None,
    mtu: int | None = None,
    **attributes: Any,
) -> Network:
    """A network; `attributes` are its plain columns (name, shared, external...)."""
    await quotas.check(session, options, project_id, "network")
    segment = await segments.allocate(
        session, options, network_type, physical_network, segmentation_id
    )
    if mtu is not None:
        _check_mtu(options, segment.network_type, mtu)
    row = Network(
        project_id=project_id,
        network_type=segment.network_type,
        physical_network=segment.physical_network,
        segmentation_id=segment.segmentation_id,
        mtu=mtu or options.mtu(segment.network_type),
        **attributes,
    )
    session.add(row)
    await session.flush()
    return row


async def update(
    session: AsyncSession, options: NetworkOptions, row: Network, changes: dict[str, Any]
) -> Network:
    if "mtu" in changes:
        _check_mtu(options, row.network_type, changes["mtu"])
    records.update(row, changes)
    await session.flush()
    return row


async def delete_network(session: AsyncSession, scope: Scope, network_id: str) -> None:
    """Refused (409) while a port other than the network's own (DHCP, floating IP) is
    on it; those go with it."""
    row = await get(session, scope, network_id)
    if not scope.owns(row.project_id):
        raise errors.NetworkNotFound(net_id=network_id)
    in_use = await session.scalar(
        select(Port.id)
        .where(Port.network_id == network_id, Port.device_owner.not_in(NETWORK_OWNED))
        .limit(1)
    )
    if in_use is not None:
        raise errors.NetworkInUse(net_id=network_id)
    await session.execute(delete(Port).where(Port.network_id == network_id))
    await session.execute(delete(Subnet).where(Subnet.network_id == network_id))
    await session.delete(row)


async def subnet_ids(session: AsyncSession, network_ids: list[str]) -> dict[str, list[str]]:
    """The subnets of each network, in creation order."""
    found: dict[str, list[str]] = {network_id: [] for network_id in network_ids}
    if not network_ids:
        return found
    query = (
        select(Subnet.network_id, Subnet.id)
        .where(Subnet.network_id.in_(network_ids))
        .order_by(Subnet.created_at)
    )
    for network_id, subnet_id in (await session.execute(query)).all():
        found[network_id].append(subnet_id)
    return found
