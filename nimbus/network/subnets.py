"""Subnets: an address range on a network, with its gateway, pools, DNS and routes.

Everything is checked before anything is written: a bad CIDR, a gateway outside the
subnet, pools outside it or overlapping, a CIDR overlapping another subnet of the
same network all refuse the request and leave the database as it was.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import IpAllocation, Port, Subnet
from nimbus.network import cidrs, errors, networks, quotas, records, subnetpools
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
#: Tells "not given" (default gateway) from an explicit null (no gateway).
DEFAULT = object()


def visible(scope: Scope) -> Any:
    """Subnets of the caller's project, or on networks shared with everyone."""
    query = select(Subnet)
    if scope.admin:
        return query
    shared = select(networks.Network.id).where(networks.Network.shared)
    return query.where((Subnet.project_id == scope.project_id) | Subnet.network_id.in_(shared))


async def get(session: AsyncSession, scope: Scope, subnet_id: str) -> Subnet:
    row = await session.scalar(visible(scope).where(Subnet.id == subnet_id))
    if row is None:
        raise errors.SubnetNotFound(subnet_id=subnet_id)
    return row


async def listing(session: AsyncSession, scope: Scope) -> list[Subnet]:
    return list((await session.scalars(visible(scope).order_by(Subnet.created_at))).all())


async def of_network(session: AsyncSession, network_id: str) -> list[Subnet]:
    query = select(Subnet).where(Subnet.network_id == network_id).order_by(Subnet.created_at)
    return list((await session.scalars(query)).all())


def _invalid(message: str) -> errors.InvalidInput:
    return errors.InvalidInput(error_message=message)


def _pool_list(cidr: cidrs.Cidr, given: list[dict[str, str]]) -> list[cidrs.Pool]:
    found = []
    for pool in given:
        start, end = cidrs.address(pool["start"]), cidrs.address(pool["end"])
        if start.version != cidr.version or end.version != cidr.version:
            raise errors.InvalidAllocationPool(pool=f"{pool['start']}-{pool['end']}")
        found.append((start, end))
    return found


def _as_dicts(pools: list[cidrs.Pool]) -> list[dict[str, str]]:
    return [{"start": str(start), "end": str(end)} for start, end in pools]


def _nameservers(given: list[str]) -> list[str]:
    for server in given:
        cidrs.address(server, "nameserver")
    if len(set(given)) != len(given):
        raise _invalid("Duplicate nameserver in dns_nameservers")
    return given


def _routes(version: int, given: list[dict[str, str]]) -> list[dict[str, str]]:
    routes = []
    for route in given:
        destination = cidrs.network(route["destination"])
        nexthop = cidrs.address(route["nexthop"], "nexthop")
        if destination.version != version or nexthop.version != version:
            raise _invalid(f"Host route {route} does not match the subnet's IP version")
        routes.append({"destination": str(destination), "nexthop": str(nexthop)})
    if len({(r["destination"], r["nexthop"]) for r in routes}) != len(routes):
        raise _invalid("Duplicate hostroute in host_routes")
    return routes


def _ipv6_modes(version: int, ra_mode: str | None, address_mode: str | None) -> None:
    for mode in (ra_mode, address_mode):
        if mode is not None and mode not in IPV6_MODES:
            raise _invalid(f"'{mode}' is not in {list(IPV6_MODES)}")
    if version == 4 and (ra_mode or address_mode):
        raise _invalid(
            "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is "
            "set to False or the IP version is 4"
        )
    if ra_mode and address_mode and ra_mode != address_mode:
        raise _invalid(
            f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to "
            f"'{address_mode}' is not valid. If both attributes are set, they must be the "
            "same value"
        )


def _gateway(cidr: cidrs.Cidr, given: Any) -> cidrs.Address | None:
    if given is DEFAULT:
        return cidrs.default_gateway(cidr)
    if given is None:
        return None
    gateway = cidrs.address(given, "gateway IP")
    cidrs.check_gateway(cidr, gateway)
    return gateway


async def _check_overlap(session: AsyncSession, network_id: str, cidr: cidrs.Cidr) -> None:
    for other in await of_network(session, network_id):
        if cidrs.overlaps(cidr, ipaddress.ip_network(other.cidr)):
            raise _invalid(
                f"Requested subnet with cidr: {cidr} for network: {network_id} overlaps "
                "with another subnet"
            )


async def create(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    *,
    network_id: str,
    project_id: str,
    ip_version: int,
    cidr: str | None = None,
    subnetpool_id: str | None = None,
    prefixlen: int | None = None,
    use_default_subnet_pool: bool = False,
    gateway_ip: Any = DEFAULT,
    allocation_pools: list[dict[str, str]] | None = None,
    dns_nameservers: list[str] | None = None,
    host_routes: list[dict[str, str]] | None = None,
    ipv6_ra_mode: str | None = None,
    ipv6_address_mode: str | None = None,
    **attributes: Any,
) -> Subnet:
    """A subnet with the given CIDR, or one carved from a subnet pool; `attributes`
    are its plain columns (name, enable_dhcp...)."""
    network = await networks.get_usable(session, scope, network_id)
    if not scope.owns(network.project_id):
        raise errors.PolicyNotAuthorized(action="create_subnet")
    if ip_version not in (4, 6):
        raise _invalid(f"'{ip_version}' is not in [4, 6]")
    pool = None
    if subnetpool_id is not None:
        pool = await subnetpools.get(session, scope, subnetpool_id)
    elif use_default_subnet_pool:
        pool = await subnetpools.default_pool(session, scope, ip_version)
    if pool is not None:
        if pool.ip_version != ip_version:
            raise _invalid(f"Subnet pool {pool.id} is not an IPv{ip_version} pool")
        parsed = await subnetpools.allocate(session, pool, cidr, prefixlen)
    elif cidr is None:
        raise errors.BadRequest(
            resource="subnets", msg="a cidr must be specified in the absence of a subnet pool"
        )
    else:
        parsed = cidrs.network(cidr)
    if parsed.version != ip_version:
        raise _invalid(f"Cidr {parsed} does not match the IP version {ip_version}")
    if parsed.version == 4 and parsed.prefixlen == 0:
        raise _invalid("0.0.0.0/0 is not allowed as a subnet CIDR")
    _ipv6_modes(ip_version, ipv6_ra_mode, ipv6_address_mode)
    gateway = _gateway(parsed, gateway_ip)
    if allocation_pools is None:
        pools = cidrs.default_pools(parsed, gateway)
    else:
        pools = _pool_list(parsed, allocation_pools)
        cidrs.check_pools(parsed, pools, gateway)
    nameservers = _nameservers(dns_nameservers or [])
    routes = _routes(ip_version, host_routes or [])
    await _check_overlap(session, network_id, parsed)
    await quotas.check(session, options, project_id, "subnet")
    row = Subnet(
        network_id=network_id,
        subnetpool_id=pool.id if pool is not None else None,
        project_id=project_id,
        ip_version=ip_version,
        cidr=str(parsed),
        gateway_ip=None if gateway is None else str(gateway),
        allocation_pools=_as_dicts(pools),
        dns_nameservers=nameservers,
        host_routes=routes,
        ipv6_ra_mode=ipv6_ra_mode,
        ipv6_address_mode=ipv6_address_mode,
        **attributes,
    )
    session.add(row)
    await session.flush()
    return row


async def update(session: AsyncSession, row: Subnet, changes: dict[str, Any]) -> Subnet:
    """Gateway, pools, DNS and routes are checked as at create; the CIDR is fixed."""
    parsed = ipaddress.ip_network(row.cidr)
    changes = dict(changes)
    if "gateway_ip" in changes:
        gateway = _gateway(parsed, changes["gateway_ip"])
        changes["gateway_ip"] = None if gateway is None else str(gateway)
    gateway_text = changes.get("gateway_ip", row.gateway_ip)
    gateway = ipaddress.ip_address(gateway_text) if gateway_text else None
    pools_given = changes.get("allocation_pools", row.allocation_pools)
    pools = _pool_list(parsed, pools_given)
    cidrs.check_pools(parsed, pools, gateway)
    if "allocation_pools" in changes:
        changes["allocation_pools"] = _as_dicts(pools)
    if "dns_nameservers" in changes:
        changes["dns_nameservers"] = _nameservers(changes["dns_nameservers"] or [])
    if "host_routes" in changes:
        changes["host_routes"] = _routes(row.ip_version, changes["host_routes"] or [])
    records.update(row, changes)
    await session.flush()
    return row


async def delete_subnet(session: AsyncSession, row: Subnet) -> None:
    """Refused (409) while a port other than a DHCP port holds an address of it."""
    in_use = await session.scalar(
        select(IpAllocation.port_id)
        .join(Port, Port.id == IpAllocation.port_id)
        .where(
            IpAllocation.subnet_id == row.id,
            Port.device_owner != networks.DHCP,
        )
        .limit(1)
    )
    if in_use is not None:
        raise errors.SubnetInUse(subnet_id=row.id)
    await session.delete(row)
