"""Provider segments: which wire a network is (ML2's type drivers, one segment each).

A tenant network gets the configured tenant type (VXLAN) and the lowest free id of
the configured ranges; an admin may name the type, physical network and id. The
unique constraint on (type, physical network, id) makes a taken id fail the insert,
which nimbus.network.transactions turns into another attempt. Flat networks store
id 0 so that the same constraint allows one flat network per physical network.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import Network
from nimbus.network import errors
from nimbus.network.options import NETWORK_TYPES, NetworkOptions

MAX_VLAN = 4094
MAX_VNI = 2**24 - 1
#: The id a flat network stores (shown as null).
FLAT_ID = 0


@dataclass(frozen=True)
class Segment:
    network_type: str
    physical_network: str  # "" for tunnels
    segmentation_id: int


def _invalid(message: str) -> errors.InvalidInput:
    return errors.InvalidInput(error_message=message)


async def _taken(session: AsyncSession, network_type: str, physnet: str) -> set[int]:
    query = select(Network.segmentation_id).where(
        Network.network_type == network_type, Network.physical_network == physnet
    )
    return {value for value in (await session.scalars(query)).all() if value is not None}


def _first_free(ranges: tuple[tuple[int, int], ...], taken: set[int]) -> int | None:
    for low, high in ranges:
        for candidate in range(low, high + 1):
            if candidate not in taken:
                return candidate
    return None


async def allocate(
    session: AsyncSession,
    options: NetworkOptions,
    network_type: str | None,
    physical_network: str | None,
    segmentation_id: int | None,
) -> Segment:
    """The segment of a new network, allocated or checked as requested."""
    kind = network_type or options.tenant_network_type
    if kind not in NETWORK_TYPES:
        raise _invalid(f"provider:network_type {kind} is not supported")
    if network_type is None and (physical_network or segmentation_id is not None):
        raise _invalid("provider:network_type required")
    if kind == "flat":
        return await _flat(session, options, physical_network, segmentation_id)
    if kind == "vlan":
        return await _vlan(session, options, physical_network, segmentation_id)
    return await _vxlan(session, options, physical_network, segmentation_id)


async def _flat(
    session: AsyncSession, options: NetworkOptions, physnet: str | None, seg_id: int | None
) -> Segment:
    if seg_id is not None:
        raise _invalid("segmentation_id specified for flat provider network")
    if not physnet:
        raise _invalid("physical_network required for flat provider network")
    if physnet not in options.flat_networks:
        raise _invalid(f"physical_network '{physnet}' unknown for flat provider network")
    if await _taken(session, "flat", physnet):
        raise errors.FlatNetworkInUse(physical_network=physnet)
    return Segment("flat", physnet, FLAT_ID)


async def _vlan(
    session: AsyncSession, options: NetworkOptions, physnet: str | None, seg_id: int | None
) -> Segment:
    if not physnet:
        raise _invalid("physical_network required for VLAN provider network")
    if physnet not in options.vlan_ranges:
        raise _invalid(f"physical_network '{physnet}' unknown for VLAN provider network")
    taken = await _taken(session, "vlan", physnet)
    if seg_id is None:
        seg_id = _first_free(options.vlan_ranges[physnet], taken)
        if seg_id is None:
            raise errors.NoNetworkAvailable()
    elif not 1 <= seg_id <= MAX_VLAN:
        raise _invalid(f"segmentation_id out of range (1 through {MAX_VLAN})")
    elif seg_id in taken:
        raise errors.VlanIdInUse(vlan_id=seg_id, physical_network=physnet)
    return Segment("vlan", physnet, seg_id)


async def _vxlan(
    session: AsyncSession, options: NetworkOptions, physnet: str | None, seg_id: int | None
) -> Segment:
    if physnet:
        raise _invalid("provider:physical_network specified for vxlan network")
    taken = await _taken(session, "vxlan", "")
    if seg_id is None:
        seg_id = _first_free(options.vni_ranges, taken)
        if seg_id is None:
            raise errors.NoNetworkAvailable()
    elif not 1 <= seg_id <= MAX_VNI:
        raise _invalid(f"segmentation_id out of range (1 through {MAX_VNI})")
    elif seg_id in taken:
        raise errors.TunnelIdInUse(tunnel_id=seg_id)
    return Segment("vxlan", "", seg_id)
