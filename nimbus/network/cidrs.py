"""Addresses, CIDRs and allocation pools: pure checks, no database.

Pools are inclusive (start, end) ranges. For IPv4 a subnet's network and broadcast
addresses are never allocatable; for IPv6 only the subnet-router anycast address (the
network address) is excluded, as Neutron does.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Iterator

from nimbus.network import errors

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Cidr = ipaddress.IPv4Network | ipaddress.IPv6Network
Pool = tuple[Address, Address]


def address(text: object, what: str = "IP address") -> Address:
    if not isinstance(text, str):
        raise errors.InvalidInput(error_message=f"'{text}' is not a valid {what}")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise errors.InvalidInput(error_message=f"'{text}' is not a valid {what}") from None


def network(text: object) -> Cidr:
    """A CIDR; one with host bits set is refused, as Neutron refuses it."""
    if not isinstance(text, str) or "/" not in text:
        raise errors.InvalidInput(error_message=f"'{text}' is not a valid IP subnet")
    try:
        parsed = ipaddress.ip_network(text, strict=False)
        given = ipaddress.ip_interface(text).ip
    except ValueError:
        raise errors.InvalidInput(error_message=f"'{text}' is not a valid IP subnet") from None
    if given != parsed.network_address:
        raise errors.InvalidInput(
            error_message=f"'{text}' isn't a recommended CIDR, '{parsed}' should be "
            "specified instead"
        )
    return parsed


def usable_range(cidr: Cidr) -> Pool | None:
    """The first and last allocatable addresses of `cidr`, None when it has none."""
    first = cidr.network_address + 1
    last = cidr.broadcast_address - (1 if cidr.version == 4 else 0)
    if cidr.num_addresses <= 2 and cidr.version == 4:
        # /31 and /32: point-to-point and host routes, every address usable.
        first, last = cidr.network_address, cidr.broadcast_address
    return (first, last) if first <= last else None


def default_gateway(cidr: Cidr) -> Address | None:
    usable = usable_range(cidr)
    return usable[0] if usable else None


def default_pools(cidr: Cidr, gateway: Address | None) -> list[Pool]:
    """The whole usable range, minus the gateway."""
    usable = usable_range(cidr)
    if usable is None:
        return []
    return list(_minus(usable, gateway))


def _minus(pool: Pool, hole: Address | None) -> Iterator[Pool]:
    start, end = pool
    if hole is None or not start <= hole <= end:
        yield pool
        return
    if start < hole:
        yield (start, hole - 1)
    if hole < end:
        yield (hole + 1, end)


def check_gateway(cidr: Cidr, gateway: Address) -> None:
    """The gateway must be in the subnet, and for IPv4 neither its network nor its
    broadcast address. Upstream also accepts a gateway outside the CIDR (an on-link
    gateway); the issue this implements asks for that to be refused."""
    usable = usable_range(cidr)
    if cidr.version == 6:
        valid = gateway.version == 6 and gateway in cidr
    else:
        valid = usable is not None and usable[0] <= gateway <= usable[1]
    if not valid:
        raise errors.InvalidInput(
            error_message=f"Gateway IP {gateway} is not a valid address on subnet {cidr}"
        )


def check_pools(cidr: Cidr, pools: list[Pool], gateway: Address | None) -> None:
    """Each pool inside the subnet's usable range, none overlapping, the gateway in none."""
    usable = usable_range(cidr)
    for start, end in pools:
        label = f"{start}-{end}"
        if start.version != cidr.version or end.version != cidr.version or start > end:
            raise errors.InvalidAllocationPool(pool=label)
        if usable is None or start < usable[0] or end > usable[1]:
            raise errors.OutOfBoundsAllocationPool(pool=label, subnet_cidr=cidr)
    ordered = sorted(pools)
    for (s1, e1), (s2, e2) in itertools.pairwise(ordered):
        if s2 <= e1:
            raise errors.OverlappingAllocationPools(
                pool_1=f"{s1}-{e1}", pool_2=f"{s2}-{e2}", subnet_cidr=cidr
            )
    if gateway is not None:
        for start, end in pools:
            if start <= gateway <= end:
                raise errors.GatewayConflictWithAllocationPools(
                    ip_address=gateway, pool=f"{start}-{end}"
                )


def in_pools(candidate: Address, pools: Iterable[Pool]) -> bool:
    return any(start <= candidate <= end for start, end in pools)


def first_free(pools: Iterable[Pool], used: set[Address]) -> Address | None:
    """The lowest address of the pools not in `used` (used is finite, so this ends fast)."""
    for start, end in pools:
        current = start
        while current <= end:
            if current not in used:
                return current
            current += 1
    return None


def overlaps(a: Cidr, b: Cidr) -> bool:
    return a.version == b.version and a.overlaps(b)  # type: ignore[arg-type]
