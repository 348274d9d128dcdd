"""Nova's security group proxy (os-security-groups, deprecated at 2.36) over the
Neutron domain: Nova's shapes and rules, Neutron's rows.

Nova only ever knew ingress rules with a port range or ICMP type/code and a CIDR or a
source group; it translates each request into a Neutron rule and each Neutron group
back, showing only its ingress rules. Neutron's errors become Nova's: a group in use
or the default group (409 upstream) is a 400, a refused creation (409: quota, a
second `default`) a 403. Upstream Nova calls Neutron over HTTP; here the same
database is at hand, so the domain functions are called directly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import SecurityGroup, SecurityGroupRule
from nimbus.errors import BadRequest, Conflict, Forbidden, NimbusError, NotFound
from nimbus.network import ports
from nimbus.network import security_groups as groups
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

ANY_CIDR = "0.0.0.0/0"
_PORT_PROTOCOLS = ("TCP", "UDP")
_NOVA_PROTOCOLS = ("TCP", "UDP", "ICMP")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def validate_id(group_id: str) -> str:
    if not _UUID.fullmatch(group_id):
        raise BadRequest("Security group id should be uuid")
    return group_id


@contextmanager
def nova_errors(*, conflict: type[NimbusError] = BadRequest) -> Iterator[None]:
    """Neutron's 404s stay 404s and its 400s 400s; its 409s become `conflict`, the
    status Nova gives them for the operation at hand."""
    try:
        yield
    except NotFound as error:
        raise NotFound(error.message) from None
    except Conflict as error:
        raise conflict(error.message) from None
    except BadRequest as error:
        raise BadRequest(error.message) from None


# --- Neutron rows → Nova's documents -------------------------------------------------


def _cidr(prefix: str | None) -> str:
    return prefix or ANY_CIDR


def _ports(rule: SecurityGroupRule) -> tuple[int | None, int | None]:
    """Nova's from/to ports: a protocol with no range means all of it (1-65535 for
    TCP and UDP, -1/-1 for the others)."""
    if rule.protocol and rule.port_range_min is None and rule.port_range_max is None:
        return (1, 65535) if rule.protocol.upper() in _PORT_PROTOCOLS else (-1, -1)
    return rule.port_range_min, rule.port_range_max


def rule_document(rule: SecurityGroupRule, sources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """`sources`: name and owner of the groups rules may name as their source."""
    low, high = _ports(rule)
    source = sources.get(rule.remote_group_id, {}) if rule.remote_group_id else {}
    return {
        "id": rule.id,
        "parent_group_id": rule.security_group_id,
        "ip_protocol": rule.protocol,
        "from_port": low,
        "to_port": high,
        "group": source,
        "ip_range": {} if rule.remote_group_id else {"cidr": _cidr(rule.remote_ip_prefix)},
    }


def _shown(rule: SecurityGroupRule, sources: dict[str, dict[str, str]]) -> bool:
    """Ingress rules only; one whose source group is gone is skipped, as Nova does."""
    return rule.direction == "ingress" and (
        rule.remote_group_id is None or rule.remote_group_id in sources
    )


@dataclass(frozen=True)
class Listed:
    """Groups and what their documents need: their rules and the source groups."""

    rows: list[SecurityGroup]
    rules: dict[str, list[SecurityGroupRule]]
    sources: dict[str, dict[str, str]]

    def documents(self) -> list[dict[str, Any]]:
        """Nova's documents, sorted by owner and name as Nova sorts them."""
        shown = [
            {
                "id": row.id,
                "name": row.name,
                "description": row.description,
                "tenant_id": row.project_id,
                "rules": [
                    rule_document(rule, self.sources)
                    for rule in self.rules[row.id]
                    if _shown(rule, self.sources)
                ],
            }
            for row in self.rows
        ]
        return sorted(shown, key=lambda doc: (doc["tenant_id"], doc["name"]))


async def sources_of(session: AsyncSession, group_ids: set[str]) -> dict[str, dict[str, str]]:
    """Name and owner of each group rules may name as their source."""
    if not group_ids:
        return {}
    found = await session.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(group_ids)))
    return {row.id: {"name": row.name, "tenant_id": row.project_id} for row in found}


async def describe(session: AsyncSession, rows: list[SecurityGroup]) -> Listed:
    rules = await groups.rules_of(session, [row.id for row in rows])
    named = {r.remote_group_id for rs in rules.values() for r in rs if r.remote_group_id}
    return Listed(rows, rules, await sources_of(session, named))


# --- groups ----------------------------------------------------------------------------


async def list_groups(
    session: AsyncSession, scope: Scope, *, all_projects: bool
) -> list[SecurityGroup]:
    """The caller's project's groups (its `default` made first, as Neutron does), or
    every project's for an admin asking for all of them."""
    if scope.project_id:
        await groups.ensure_default(session, scope.project_id)
    if all_projects and scope.admin:
        return await groups.listing(session, scope)
    return await groups.listing(session, Scope(project_id=scope.project_id))


async def get_group(session: AsyncSession, scope: Scope, group_id: str) -> SecurityGroup:
    with nova_errors():
        return await groups.get(session, scope, validate_id(group_id))


async def create_group(
    session: AsyncSession, scope: Scope, options: NetworkOptions, name: str, description: str
) -> SecurityGroup:
    with nova_errors(conflict=Forbidden):
        return await groups.create(
            session, options, project_id=scope.project_id, name=name, description=description
        )


async def update_group(
    session: AsyncSession, scope: Scope, group_id: str, name: str, description: str
) -> SecurityGroup:
    group = await get_group(session, scope, group_id)
    with nova_errors():
        await groups.update(session, group, {"name": name, "description": description})
    return group


async def delete_group(session: AsyncSession, scope: Scope, group_id: str) -> None:
    group = await get_group(session, scope, group_id)
    with nova_errors():
        await groups.delete_group(session, scope, group)


# --- rules -----------------------------------------------------------------------------


def _cidr_of(given: Any) -> str:
    """Nova's parse_cidr: none means any IPv4 source; anything else must be a network."""
    if not given:
        return ANY_CIDR
    try:
        ipaddress.ip_network(str(given), strict=False)
    except ValueError:
        raise BadRequest(f"{given} is not a valid IP network.") from None
    return str(given)


def _group_defaults(protocol: str, low: Any, high: Any) -> tuple[Any, Any]:
    """A rule from a source group with no ports opens the whole protocol."""
    if low is None and high is None:
        if protocol == "ICMP":
            return -1, -1
        if protocol in _PORT_PROTOCOLS:
            return 1, 65535
    return low, high


def _ports_of(protocol: str, low: Any, high: Any) -> tuple[int, int]:
    try:
        low, high = int(low), int(high)
    except (TypeError, ValueError):
        if protocol == "ICMP":
            raise BadRequest(
                "Invalid input received: Type and Code must be integers for ICMP protocol type"
            ) from None
        raise BadRequest("Invalid input received: To and From ports must be integers") from None
    if protocol not in _NOVA_PROTOCOLS:
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    reason = None
    if protocol in _PORT_PROTOCOLS and low > high:
        reason = "Former value cannot be greater than the later"
    elif protocol in _PORT_PROTOCOLS and (low < 1 or high > 65535):
        reason = f"Valid {protocol} ports should be between 1-65535"
    elif protocol == "ICMP" and not (-1 <= low <= 255 and -1 <= high <= 255):
        reason = "For ICMP, the type:code must be valid"
    if reason:
        raise BadRequest(f"Invalid port range {low}:{high}. {reason}")
    return low, high


def new_rule(
    *,
    ip_protocol: Any = None,
    from_port: Any = None,
    to_port: Any = None,
    cidr: Any = None,
    group_id: str | None = None,
) -> dict[str, Any]:
    """Nova's rule (group_id or cidr, protocol, from/to ports) from a request, checked
    as Nova checks it; a CIDR rule needs a protocol and both ports."""
    rule: dict[str, Any] = {}
    protocol = str(ip_protocol).upper() if ip_protocol else ""
    if group_id is not None:
        rule["group_id"] = group_id
        from_port, to_port = _group_defaults(protocol, from_port, to_port)
    else:
        rule["cidr"] = _cidr_of(cidr)
    if ip_protocol and from_port is not None and to_port is not None:
        rule["from_port"], rule["to_port"] = _ports_of(protocol, from_port, to_port)
        rule["protocol"] = str(ip_protocol)
    elif group_id is None:
        raise BadRequest("Not enough parameters to build a valid rule.")
    if "cidr" in rule:
        address, _, prefix = rule["cidr"].partition("/")
        if prefix == "0" and address not in ("0.0.0.0", "::"):
            raise BadRequest(f"Bad prefix for network in cidr {rule['cidr']}")
    return rule


def _nova_key(rule: SecurityGroupRule) -> tuple[Any, ...]:
    low, high = _ports(rule)
    cidr = None if rule.remote_group_id else _cidr(rule.remote_ip_prefix)
    return (rule.remote_group_id, cidr, low, high, rule.protocol)


def _new_key(rule: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("group_id", "cidr", "from_port", "to_port", "protocol")
    return tuple(rule.get(key) for key in keys)


async def create_rule(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    parent_group_id: str,
    rule: dict[str, Any],
) -> SecurityGroupRule:
    """The Neutron ingress rule for Nova's `rule` (see new_rule); a rule the group has
    already is a 400, as Nova finds it before asking Neutron."""
    parent = await get_group(session, scope, parent_group_id)
    existing = (await groups.rules_of(session, [parent.id]))[parent.id]
    if any(_nova_key(r) == _new_key(rule) for r in existing if r.direction == "ingress"):
        raise BadRequest(f"This rule already exists in group {parent.id}")
    cidr = rule.get("cidr")
    version = ipaddress.ip_network(cidr, strict=False).version if cidr else 4
    with nova_errors(conflict=Forbidden):
        return await groups.create_rule(
            session,
            scope,
            options,
            security_group_id=parent.id,
            direction="ingress",
            ethertype=f"IPv{version}",
            protocol=rule.get("protocol"),
            port_range_min=None if rule.get("from_port") == -1 else rule.get("from_port"),
            port_range_max=None if rule.get("to_port") == -1 else rule.get("to_port"),
            remote_ip_prefix=cidr,
            remote_group_id=rule.get("group_id"),
        )


async def delete_rule(session: AsyncSession, scope: Scope, rule_id: str) -> None:
    with nova_errors():
        rule = await groups.get_rule(session, scope, validate_id(rule_id))
        await groups.delete_rule(session, rule)


# --- servers' groups (through their ports; nimbus.compute.networking adds and removes) --


async def of_server(session: AsyncSession, server_id: str) -> list[SecurityGroup]:
    """The groups on the server's ports, each once."""
    found = await ports.by_device(session, server_id)
    bound = await groups.groups_of_ports(session, [port.id for port in found])
    ids = list(dict.fromkeys(g for port in found for g in bound[port.id]))
    if not ids:
        return []
    rows = await session.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(ids)))
    return list(rows)
