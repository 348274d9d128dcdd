"""IP address management: which fixed IPs a port gets.

An address is free when no `IpAllocation` row of its network holds it; the primary
key (network, address) refuses a second holder, so two concurrent requests that pick
the same free address cannot both commit: the loser's transaction is run again
(nimbus.network.transactions) and picks the next one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import IpAllocation, Subnet
from nimbus.network import cidrs, errors

#: IPv6 address modes where the address follows from the MAC (EUI-64), not a pool.
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")


@dataclass(frozen=True)
class IpRequest:
    """One entry of a port's `fixed_ips`: a subnet, an address, or both."""

    subnet_id: str | None = None
    ip_address: str | None = None


def pools(subnet: Subnet) -> list[cidrs.Pool]:
    return [
        (ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"]))
        for pool in subnet.allocation_pools
    ]


def eui64(cidr: cidrs.Cidr, mac: str) -> cidrs.Address:
    """The SLAAC address of `mac` in a /64 (modified EUI-64, RFC 4291 appendix A)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    interface = bytes([*octets[:3], 0xFF, 0xFE, *octets[3:]])
    return cidr.network_address + int.from_bytes(interface, "big")


async def used(session: AsyncSession, network_id: str) -> set[cidrs.Address]:
    query = select(IpAllocation.ip_address).where(IpAllocation.network_id == network_id)
    return {ipaddress.ip_address(text) for text in (await session.scalars(query)).all()}


def _auto(subnet: Subnet) -> bool:
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in AUTO_ADDRESS_MODES


def _generate(subnet: Subnet, mac: str, taken: set[cidrs.Address]) -> cidrs.Address | None:
    if _auto(subnet):
        candidate = eui64(ipaddress.ip_network(subnet.cidr), mac)
        return None if candidate in taken else candidate
    return cidrs.first_free(pools(subnet), taken)


def _subnet_for(
    subnets: list[Subnet], network_id: str, request: IpRequest
) -> tuple[Subnet, cidrs.Address | None]:
    """The subnet a request names or whose CIDR holds its address (400 when none)."""
    wanted = cidrs.address(request.ip_address) if request.ip_address else None
    if request.subnet_id:
        subnet = next((s for s in subnets if s.id == request.subnet_id), None)
        if subnet is None:
            raise errors.InvalidInput(
                error_message=f"Failed to create port on network {network_id}, because "
                f"fixed_ips included invalid subnet {request.subnet_id}"
            )
        if wanted is not None and wanted not in ipaddress.ip_network(subnet.cidr):
            raise errors.InvalidInput(
                error_message=f"IP address {wanted} is not a valid IP for the specified subnet."
            )
        return subnet, wanted
    for subnet in subnets:
        if wanted is not None and wanted in ipaddress.ip_network(subnet.cidr):
            return subnet, wanted
    raise errors.InvalidInput(
        error_message=f"IP address {request.ip_address} is not a valid IP for any of the "
        f"subnets on the specified network."
    )


async def allocate(
    session: AsyncSession,
    *,
    network_id: str,
    subnets: list[Subnet],
    port_id: str,
    mac: str,
    requests: list[IpRequest] | None,
) -> list[IpAllocation]:
    """Allocate the port's fixed IPs: the requested ones, or by default one address
    from the first subnet of each IP version that has one free."""
    taken = await used(session, network_id)
    chosen: list[tuple[Subnet, cidrs.Address]] = []
    if requests is None:
        for version in (4, 6):
            candidates = [s for s in subnets if s.ip_version == version]
            if not candidates:
                continue
            picked = next(
                ((s, a) for s in candidates if (a := _generate(s, mac, taken)) is not None), None
            )
            if picked is None:
                raise errors.IpAddressGenerationFailure(net_id=network_id)
            chosen.append(picked)
            taken.add(picked[1])
    else:
        for request in requests:
            subnet, wanted = _subnet_for(subnets, network_id, request)
            if wanted is None:
                wanted = _generate(subnet, mac, taken)
                if wanted is None:
                    raise errors.IpAddressGenerationFailure(net_id=network_id)
            elif wanted in taken:
                raise errors.IpAddressInUse(net_id=network_id, ip_address=wanted)
            chosen.append((subnet, wanted))
            taken.add(wanted)
    rows = [
        IpAllocation(
            network_id=network_id, ip_address=str(address), port_id=port_id, subnet_id=subnet.id
        )
        for subnet, address in chosen
    ]
    session.add_all(rows)
    await session.flush()
    return rows
