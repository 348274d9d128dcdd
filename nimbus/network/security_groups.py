"""Security groups and their rules (what the data plane compiles to nftables).

Every project has one group named `default`, created the first time the project
lists or creates groups or creates a port: it lets everything out and lets in only
traffic from members of the same group. A new group lets everything out and nothing
in. Rules are checked as upstream checks them, and a rule equal to an existing one
is refused (409) rather than stored twice.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from nimbus.network import errors, quotas, records
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

#: IANA numbers of the protocol names Neutron accepts (neutron_lib.constants).
PROTOCOLS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}  # fmt: skip
#: Protocols whose rules take a port range (TCP, UDP, DCCP, SCTP, UDP-Lite).
PORT_PROTOCOLS = {6, 17, 33, 132, 136}
ICMP_PROTOCOLS = {1, 58}
ANY_PREFIXES = ("0.0.0.0/0", "::/0")
DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")
DEFAULT_NAME = "default"


async def get(session: AsyncSession, scope: Scope, group_id: str) -> SecurityGroup:
    return await records.get_owned(
        session, SecurityGroup, group_id, scope, lambda i: errors.SecurityGroupNotFound(id=i)
    )


async def listing(session: AsyncSession, scope: Scope) -> list[SecurityGroup]:
    return await records.listing(session, SecurityGroup, scope)


async def default_ids(session: AsyncSession, group_ids: list[str]) -> set[str]:
    query = select(DefaultSecurityGroup.security_group_id).where(
        DefaultSecurityGroup.security_group_id.in_(group_ids)
    )
    return set((await session.scalars(query)).all())


def _rule(group: SecurityGroup, direction: str, ethertype: str, **extra: Any) -> SecurityGroupRule:
    return SecurityGroupRule(
        project_id=group.project_id,
        security_group_id=group.id,
        direction=direction,
        ethertype=ethertype,
        **extra,
    )


async def ensure_default(session: AsyncSession, project_id: str) -> str:
    """The id of the project's `default` group, created with its rules if missing.
    Two concurrent first requests both try to insert the marker row; the loser's
    transaction is run again and finds the winner's group."""
    found = await session.get(DefaultSecurityGroup, project_id)
    if found is not None:
        return found.security_group_id
    group = SecurityGroup(
        project_id=project_id, name=DEFAULT_NAME, description="Default security group"
    )
    session.add(group)
    await session.flush()
    session.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
    for ethertype in ETHERTYPES:
        session.add(_rule(group, "egress", ethertype))
        session.add(_rule(group, "ingress", ethertype, remote_group_id=group.id))
    await session.flush()
    return group.id


async def create(
    session: AsyncSession, options: NetworkOptions, *, project_id: str, **attributes: Any
) -> SecurityGroup:
    """A group that lets everything out; a second `default` is refused (409)."""
    await ensure_default(session, project_id)
    if attributes.get("name") == DEFAULT_NAME:
        raise errors.SecurityGroupDefaultAlreadyExists()
    await quotas.check(session, options, project_id, "security_group")
    group = SecurityGroup(project_id=project_id, **attributes)
    session.add(group)
    await session.flush()
    for ethertype in ETHERTYPES:
        session.add(_rule(group, "egress", ethertype))
    await session.flush()
    return group


async def update(session: AsyncSession, group: SecurityGroup, changes: dict[str, Any]) -> None:
    """The default group keeps its name, and no other group takes it (409)."""
    if "name" in changes:
        is_default = bool(await default_ids(session, [group.id]))
        if is_default and changes["name"] != DEFAULT_NAME:
            raise errors.SecurityGroupCannotUpdateDefault()
        if not is_default and changes["name"] == DEFAULT_NAME:
            raise errors.SecurityGroupDefaultAlreadyExists()
    records.update(group, changes)
    await session.flush()


async def delete_group(session: AsyncSession, scope: Scope, group: SecurityGroup) -> None:
    """The default group stays (an admin may remove it); a group ports use stays."""
    if not scope.admin and await default_ids(session, [group.id]):
        raise errors.SecurityGroupCannotRemoveDefault()
    in_use = await session.scalar(
        select(PortSecurityGroup.port_id)
        .where(PortSecurityGroup.security_group_id == group.id)
        .limit(1)
    )
    if in_use is not None:
        raise errors.SecurityGroupInUse(id=group.id)
    await session.delete(group)


async def rules_of(
    session: AsyncSession, group_ids: list[str]
) -> dict[str, list[SecurityGroupRule]]:
    found: dict[str, list[SecurityGroupRule]] = {group_id: [] for group_id in group_ids}
    if group_ids:
        query = (
            select(SecurityGroupRule)
            .where(SecurityGroupRule.security_group_id.in_(group_ids))
            .order_by(SecurityGroupRule.created_at)
        )
        for rule in (await session.scalars(query)).all():
            found[rule.security_group_id].append(rule)
    return found


async def get_rule(session: AsyncSession, scope: Scope, rule_id: str) -> SecurityGroupRule:
    return await records.get_owned(
        session, SecurityGroupRule, rule_id, scope, lambda i: errors.SecurityGroupRuleNotFound(id=i)
    )


async def list_rules(session: AsyncSession, scope: Scope) -> list[SecurityGroupRule]:
    return await records.listing(session, SecurityGroupRule, scope)


def protocol_number(protocol: str | None) -> int | None:
    """The IANA number of a rule's protocol (a name or a number), None for any."""
    if protocol is None:
        return None
    if protocol in PROTOCOLS:
        return PROTOCOLS[protocol]
    if protocol.isdigit() and 0 <= int(protocol) <= 255:
        return int(protocol)
    raise errors.SecurityGroupRuleInvalidProtocol(protocol=protocol, values=sorted(PROTOCOLS))


def _normal_protocol(protocol: str | int | None) -> str | None:
    if protocol is None or protocol == "any":
        return None
    text = str(protocol).lower() if isinstance(protocol, str) else str(protocol)
    protocol_number(text)
    return text


def _check_ports(number: int | None, low: int | None, high: int | None) -> None:
    if low is None and high is None:
        return
    if number is None:
        raise errors.SecurityGroupProtocolRequiredWithPorts()
    if number in ICMP_PROTOCOLS:
        for name, attr, value in (
            ("type", "port_range_min", low),
            ("code", "port_range_max", high),
        ):
            if value is not None and not 0 <= value <= 255:
                raise errors.SecurityGroupInvalidIcmpValue(field=name, attr=attr, value=value)
        if low is None:
            raise errors.SecurityGroupMissingIcmpType(value=high)
        return
    if number not in PORT_PROTOCOLS:
        raise errors.SecurityGroupInvalidPortRange(
            reason=f"Invalid protocol {number} for port range, only supported for TCP, UDP, "
            "UDPLITE, SCTP and DCCP."
        )
    for value in (low, high):
        if value is not None and not 1 <= value <= 65535:
            raise errors.SecurityGroupInvalidPortValue(port=value)
    if low is None or high is None or low > high:
        raise errors.SecurityGroupInvalidPortRange(
            reason="For TCP/UDP protocols, port_range_min must be <= port_range_max"
        )


def _remote_prefix(ethertype: str, prefix: str | None) -> str | None:
    """The prefix as given, with its mask (10.0.0.5 → 10.0.0.5/32): Neutron keeps the
    host bits (10.2.3.124/24 stays so) and shows the network as `normalized_cidr`."""
    if prefix is None:
        return None
    try:
        interface = ipaddress.ip_interface(prefix)
    except ValueError:
        raise errors.InvalidInput(error_message=f"'{prefix}' is not a valid IP subnet") from None
    if f"IPv{interface.version}" != ethertype:
        raise errors.SecurityGroupRuleParameterConflict(ethertype=ethertype, cidr=prefix)
    return str(interface)


def normalized_cidr(prefix: str | None) -> str | None:
    """The network a rule's prefix names (10.2.3.124/24 → 10.2.3.0/24)."""
    return None if prefix is None else str(ipaddress.ip_network(prefix, strict=False))


def _key(rule: SecurityGroupRule) -> tuple[Any, ...]:
    """What makes two rules the same rule: the same network (host bits aside); a
    prefix matching everything is no prefix."""
    prefix = normalized_cidr(rule.remote_ip_prefix)
    prefix = None if prefix in ANY_PREFIXES else prefix
    return (
        rule.direction,
        rule.ethertype,
        protocol_number(rule.protocol),
        rule.port_range_min,
        rule.port_range_max,
        prefix,
        rule.remote_group_id,
    )


async def create_rule(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    *,
    security_group_id: str,
    direction: str,
    ethertype: str = "IPv4",
    protocol: str | int | None = None,
    port_range_min: int | None = None,
    port_range_max: int | None = None,
    remote_ip_prefix: str | None = None,
    remote_group_id: str | None = None,
    description: str = "",
    project_id: str | None = None,
) -> SecurityGroupRule:
    group = await get(session, scope, security_group_id)
    if direction not in DIRECTIONS:
        raise errors.InvalidInput(error_message=f"'{direction}' is not in {list(DIRECTIONS)}")
    if ethertype not in ETHERTYPES:
        raise errors.SecurityGroupRuleInvalidEtherType(ethertype=ethertype, values=ETHERTYPES)
    if remote_ip_prefix is not None and remote_group_id is not None:
        raise errors.SecurityGroupRemoteGroupAndRemoteIpPrefix()
    text = _normal_protocol(protocol)
    number = protocol_number(text)
    if ethertype == "IPv4" and number == 58:
        raise errors.SecurityGroupEthertypeConflictWithProtocol(ethertype=ethertype, protocol=text)
    _check_ports(number, port_range_min, port_range_max)
    if remote_group_id is not None:
        await get(session, scope, remote_group_id)
    owner = project_id or group.project_id
    rule = _rule(
        group,
        direction,
        ethertype,
        protocol=text,
        port_range_min=port_range_min,
        port_range_max=port_range_max,
        remote_ip_prefix=_remote_prefix(ethertype, remote_ip_prefix),
        remote_group_id=remote_group_id,
        description=description,
    )
    rule.project_id = owner
    for existing in (await rules_of(session, [group.id]))[group.id]:
        if _key(existing) == _key(rule):
            raise errors.SecurityGroupRuleExists(rule_id=existing.id)
    await quotas.check(session, options, owner, "security_group_rule")
    session.add(rule)
    records.touch(group)
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, rule: SecurityGroupRule) -> None:
    group = await session.get(SecurityGroup, rule.security_group_id)
    if group is not None:
        records.touch(group)
    await session.delete(rule)


async def groups_of_ports(session: AsyncSession, port_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {port_id: [] for port_id in port_ids}
    if port_ids:
        query = select(PortSecurityGroup).where(PortSecurityGroup.port_id.in_(port_ids))
        for row in (await session.scalars(query)).all():
            found[row.port_id].append(row.security_group_id)
    return found
