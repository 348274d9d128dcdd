"""Subnet pools: prefixes that subnets are carved from (subnet_allocation).

A subnet created with a pool either names its CIDR (which must lie within the pool
and not overlap the pool's other subnets) or asks for a prefix length and gets the
lowest free block of that size.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import Subnet, SubnetPool
from nimbus.network import cidrs, errors, records
from nimbus.network.scope import Scope

#: Upstream's default smallest prefix length per IP version (the largest block).
MIN_PREFIXLEN = {4: 8, 6: 64}


def visible(scope: Scope) -> Any:
    query = select(SubnetPool)
    if scope.admin:
        return query
    return query.where(or_(SubnetPool.project_id == scope.project_id, SubnetPool.shared))


async def get(session: AsyncSession, scope: Scope, pool_id: str) -> SubnetPool:
    row = await session.scalar(visible(scope).where(SubnetPool.id == pool_id))
    if row is None:
        raise errors.SubnetPoolNotFound(subnetpool_id=pool_id)
    return row


async def listing(session: AsyncSession, scope: Scope) -> list[SubnetPool]:
    return list((await session.scalars(visible(scope).order_by(SubnetPool.created_at))).all())


async def default_pool(session: AsyncSession, scope: Scope, ip_version: int) -> SubnetPool:
    query = visible(scope).where(SubnetPool.is_default, SubnetPool.ip_version == ip_version)
    row = await session.scalar(query)
    if row is None:
        raise errors.BadRequest(
            resource="subnets", msg=f"No default subnetpool found for IPv{ip_version}"
        )
    return row


def _invalid(message: str) -> errors.InvalidInput:
    return errors.InvalidInput(error_message=message)


def _prefixes(given: list[str]) -> list[cidrs.Cidr]:
    """The pool's prefixes, parsed and collapsed (10.0.0.0/24 + 10.0.1.0/24 = /23)."""
    parsed = []
    for text in given:
        try:
            parsed.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise _invalid(f"'{text}' is not a valid IP subnet") from None
    if not parsed:
        raise _invalid("prefixes must not be empty")
    if len({p.version for p in parsed}) != 1:
        raise _invalid("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
    return list(ipaddress.collapse_addresses(parsed))  # type: ignore[arg-type]


def _lengths(version: int, values: dict[str, Any], current: SubnetPool | None) -> dict[str, int]:
    """min ≤ default ≤ max, within the address family."""
    top = 32 if version == 4 else 128

    def pick(name: str, fallback: int) -> int:
        value = values.get(name)
        if value is not None:
            return value
        return getattr(current, name) if current is not None else fallback

    low = pick("min_prefixlen", MIN_PREFIXLEN[version])
    high = pick("max_prefixlen", top)
    default = pick("default_prefixlen", low)
    if not 0 <= low <= default <= high <= top:
        raise _invalid(
            f"Illegal prefix bounds: min_prefixlen {low}, default_prefixlen {default}, "
            f"max_prefixlen {high}"
        )
    return {"min_prefixlen": low, "default_prefixlen": default, "max_prefixlen": high}


async def create(
    session: AsyncSession, *, project_id: str, prefixes: list[str], **attributes: Any
) -> SubnetPool:
    parsed = _prefixes(prefixes)
    version = parsed[0].version
    lengths = _lengths(version, attributes, None)
    plain = {k: v for k, v in attributes.items() if k not in lengths}
    row = SubnetPool(
        project_id=project_id,
        ip_version=version,
        prefixes=[str(p) for p in parsed],
        **lengths,
        **plain,
    )
    session.add(row)
    await session.flush()
    return row


async def update(session: AsyncSession, row: SubnetPool, changes: dict[str, Any]) -> SubnetPool:
    """Prefixes may only grow: every old prefix must stay covered."""
    changes = dict(changes)
    if "prefixes" in changes:
        parsed = _prefixes(changes["prefixes"])
        if parsed[0].version != row.ip_version:
            raise _invalid("Cannot change the IP version of a subnet pool")
        for old in map(ipaddress.ip_network, row.prefixes):
            if not any(old.subnet_of(new) for new in parsed):  # type: ignore[arg-type]
                raise _invalid(f"Illegal update to prefixes: {old} is no longer covered")
        changes["prefixes"] = [str(p) for p in parsed]
    changes.update(_lengths(row.ip_version, changes, row))
    records.update(row, changes)
    await session.flush()
    return row


async def delete_pool(session: AsyncSession, row: SubnetPool) -> None:
    used = await session.scalar(select(Subnet.id).where(Subnet.subnetpool_id == row.id).limit(1))
    if used is not None:
        raise errors.SubnetPoolInUse(subnet_pool_id=row.id)
    await session.delete(row)


async def allocate(
    session: AsyncSession, pool: SubnetPool, cidr: str | None, prefixlen: int | None
) -> cidrs.Cidr:
    """The CIDR a new subnet of `pool` gets: the requested one if it fits and is
    free, else the lowest free block of `prefixlen` (default: the pool's)."""
    taken = [
        ipaddress.ip_network(text)
        for text in (
            await session.scalars(select(Subnet.cidr).where(Subnet.subnetpool_id == pool.id))
        ).all()
    ]
    prefixes = [ipaddress.ip_network(text) for text in pool.prefixes]
    if cidr is not None:
        wanted = cidrs.network(cidr)
        if not any(wanted.version == p.version and wanted.subnet_of(p) for p in prefixes):  # type: ignore[arg-type]
            raise errors.SubnetAllocationError(reason=f"Cidr {wanted} not within the pool")
        if any(cidrs.overlaps(wanted, t) for t in taken):
            raise errors.SubnetAllocationError(reason=f"Cidr {wanted} overlaps another subnet")
        return wanted
    length = pool.default_prefixlen if prefixlen is None else prefixlen
    if not pool.min_prefixlen <= length <= pool.max_prefixlen:
        raise errors.SubnetAllocationError(
            reason=f"Unsupported prefix length {length} (allowed {pool.min_prefixlen}"
            f"-{pool.max_prefixlen})"
        )
    for prefix in prefixes:
        if prefix.prefixlen > length:
            continue
        for block in prefix.subnets(new_prefix=length):
            if not any(block.overlaps(t) for t in taken):  # type: ignore[arg-type]
                return block
    raise errors.SubnetAllocationError(
        reason=f"Insufficient prefix space to allocate subnet size /{length}"
    )
