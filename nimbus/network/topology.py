"""The desired data plane of one host, read from the network tables.

The network agent hands the result to `nimbus.netdev.DataPlane.apply`. Reading is a
handful of whole-table queries (networks, subnets, ports, allocations, group memberships,
rules, routers, floating IPs), which is simple and fast for the sizes one agent serves
(thousands of ports), and the same rows always give the same, equal `Topology`.

Which rows a host serves (kept simple on purpose):
- all-in-one (`Placement.host` None): everything;
- several hosts: the instance ports bound to this host (`binding:host_id`) and the
  networks they are on; a *network node* (`network_node`) also serves every network's
  DHCP, every router and the external networks, as Neutron's L3 and DHCP agents would on
  one dedicated node. Ports of other hosts are not plugged here but still count as
  remote-group members.

Segmentation is what this host can carry: VXLAN only with a VXLAN underlay configured,
flat and VLAN only on physical networks mapped to an interface; anything else becomes a
host-local bridge (a single host needs nothing more).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models import network as rows
from nimbus.netdev import model
from nimbus.netdev.names import Names
from nimbus.network import ports as port_domain

#: Ports that exist only in the database (a floating IP's address lives on its router).
NOT_ON_THE_WIRE = (port_domain.FLOATING_IP,)


@dataclass(frozen=True)
class Placement:
    """Which part of the cloud this host serves and which segments it can carry."""

    host: str | None = None
    network_node: bool = True
    vxlan: bool = False
    physical_interfaces: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostView:
    """A topology and what the agent derives from the same rows: the host's own address
    on each external network (the subnet's gateway, so routers' default route leads to
    the host), and the floating IPs the topology wires (by id, for their status)."""

    topology: model.Topology
    host_addresses: dict[str, str]
    floating_ip_ids: tuple[str, ...]


def _segment(network: rows.Network, placement: Placement) -> dict[str, object]:
    kind = network.network_type
    if kind == "vxlan" and placement.vxlan:
        return {"network_type": "vxlan", "segmentation_id": network.segmentation_id}
    if kind in ("flat", "vlan") and network.physical_network in placement.physical_interfaces:
        return {
            "network_type": kind,
            "segmentation_id": network.segmentation_id if kind == "vlan" else None,
            "physical_network": network.physical_network,
        }
    return {"network_type": "flat"}


def _subnet(row: rows.Subnet) -> model.Subnet:
    return model.Subnet(
        id=row.id,
        cidr=row.cidr,
        gateway_ip=row.gateway_ip,
        enable_dhcp=row.enable_dhcp,
        dns_nameservers=tuple(row.dns_nameservers or ()),
        host_routes=tuple((r["destination"], r["nexthop"]) for r in row.host_routes or ()),
    )


def _pairs(port: rows.Port) -> tuple[tuple[str, str | None], ...]:
    return tuple((p["ip_address"], p.get("mac_address")) for p in port.allowed_address_pairs or ())


def _rule(row: rows.SecurityGroupRule) -> model.SecurityGroupRule:
    return model.SecurityGroupRule(
        direction=row.direction,
        ethertype=row.ethertype,
        protocol=row.protocol,
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
        remote_group_id=row.remote_group_id,
    )


def host_address(subnets: list[rows.Subnet]) -> str | None:
    """The host's address on an external network: its first IPv4 subnet's gateway."""
    for subnet in subnets:
        if subnet.ip_version == 4 and subnet.gateway_ip:
            prefix = ipaddress.ip_network(subnet.cidr).prefixlen
            return f"{subnet.gateway_ip}/{prefix}"
    return None


@dataclass(frozen=True)
class Rows:
    """The network tables, whole, in a stable order (so equal rows build equal views)."""

    networks: list[rows.Network]
    subnets: list[rows.Subnet]
    ports: list[rows.Port]
    allocations: list[rows.IpAllocation]
    memberships: list[rows.PortSecurityGroup]
    rules: list[rows.SecurityGroupRule]
    routers: list[rows.Router]
    floating_ips: list[rows.FloatingIp]


async def load(session: AsyncSession) -> Rows:
    async def every(table: type, *order: Any) -> list[Any]:
        return list((await session.scalars(select(table).order_by(*order))).all())

    return Rows(
        networks=await every(rows.Network, rows.Network.id),
        subnets=await every(rows.Subnet, rows.Subnet.created_at, rows.Subnet.id),
        ports=await every(rows.Port, rows.Port.id),
        allocations=sorted(
            await every(rows.IpAllocation),
            key=lambda a: (ipaddress.ip_address(a.ip_address).version, a.ip_address),
        ),
        memberships=await every(
            rows.PortSecurityGroup,
            rows.PortSecurityGroup.port_id,
            rows.PortSecurityGroup.security_group_id,
        ),
        rules=await every(rows.SecurityGroupRule, rows.SecurityGroupRule.id),
        routers=await every(rows.Router, rows.Router.id),
        floating_ips=await every(rows.FloatingIp, rows.FloatingIp.floating_ip_address),
    )


async def read(session: AsyncSession, placement: Placement) -> HostView:
    """The host's desired data plane as the committed rows say."""
    return build(await load(session), placement)


def build(tables: Rows, placement: Placement) -> HostView:
    """The host's view of `tables` (pure)."""
    fixed: dict[str, list[model.FixedIP]] = defaultdict(list)
    for allocation in tables.allocations:
        fixed[allocation.port_id].append(model.FixedIP(allocation.subnet_id, allocation.ip_address))
    served = _served(placement, tables.networks, tables.ports)
    wire_ports = [
        port
        for port in tables.ports
        if port.network_id in served.networks
        and port.device_owner not in NOT_ON_THE_WIRE
        and _plugged_here(port, placement)
    ]
    groups_of: dict[str, list[str]] = defaultdict(list)
    for membership in tables.memberships:
        groups_of[membership.port_id].append(membership.security_group_id)
    subnets_of: dict[str, list[rows.Subnet]] = defaultdict(list)
    for subnet in tables.subnets:
        subnets_of[subnet.network_id].append(subnet)
    networks = [n for n in tables.networks if n.id in served.networks]
    fips = [f for f in tables.floating_ips if f.router_id in served.routers and f.fixed_ip_address]
    topology = model.Topology(
        networks=tuple(
            model.Network(
                id=network.id,
                mtu=network.mtu,
                subnets=tuple(_subnet(s) for s in subnets_of[network.id]),
                **_segment(network, placement),  # type: ignore[arg-type]
            )
            for network in networks
        ),
        ports=tuple(_port(port, fixed[port.id], groups_of[port.id]) for port in wire_ports),
        routers=tuple(
            model.Router(
                id=router.id,
                enable_snat=router.enable_snat,
                routes=tuple((r["destination"], r["nexthop"]) for r in router.routes or ()),
            )
            for router in tables.routers
            if router.id in served.routers
        ),
        floating_ips=tuple(
            model.FloatingIP(f.floating_ip_address, f.fixed_ip_address, f.router_id) for f in fips
        ),
        security_groups=_security_groups(
            tables, fixed, {g for port in wire_ports for g in groups_of[port.id]}
        ),
    )
    addresses = {
        network.id: address
        for network in networks
        if network.external and (address := host_address(subnets_of[network.id]))
    }
    return HostView(topology, addresses, tuple(f.id for f in fips))


def _port(port: rows.Port, fixed: list[model.FixedIP], groups: list[str]) -> model.Port:
    return model.Port(
        id=port.id,
        network_id=port.network_id,
        mac_address=port.mac_address,
        fixed_ips=tuple(fixed),
        device_owner=port.device_owner or "",
        device_id=port.device_id or "",
        security_group_ids=tuple(groups),
        port_security_enabled=port.port_security_enabled,
        allowed_address_pairs=_pairs(port),
    )


def _security_groups(
    tables: Rows, fixed: dict[str, list[model.FixedIP]], used: set[str]
) -> tuple[model.SecurityGroup, ...]:
    """The groups of the host's ports and the remote groups their rules name, each with
    the addresses of its members on any host."""
    rules_of: dict[str, list[model.SecurityGroupRule]] = defaultdict(list)
    for rule in tables.rules:
        rules_of[rule.security_group_id].append(_rule(rule))
    used = used | {r.remote_group_id for g in used for r in rules_of[g] if r.remote_group_id}
    ports = {port.id: port for port in tables.ports}
    members: dict[str, set[str]] = defaultdict(set)
    for membership in tables.memberships:
        port = ports.get(membership.port_id)
        if port is not None and membership.security_group_id in used:
            members[membership.security_group_id] |= {f.ip_address for f in fixed[port.id]}
            members[membership.security_group_id] |= {ip for ip, _ in _pairs(port)}
    return tuple(
        model.SecurityGroup(id=g, rules=tuple(rules_of[g]), member_ips=tuple(sorted(members[g])))
        for g in sorted(used)
    )


def _plugged_here(port: rows.Port, placement: Placement) -> bool:
    """All-in-one: every port. Else an instance port bound here, and on a network node
    the routers' and DHCP servers' ports."""
    if placement.host is None:
        return True
    if port.device_owner.startswith("network:"):
        return placement.network_node
    return port.host_id == placement.host


@dataclass(frozen=True)
class _Served:
    networks: set[str]
    routers: set[str]


def _served(placement: Placement, networks: list[rows.Network], ports: list[rows.Port]) -> _Served:
    router_ids = {
        port.device_id
        for port in ports
        if port.device_owner in (port_domain.ROUTER_INTERFACE, port_domain.ROUTER_GATEWAY)
    }
    if placement.host is None or placement.network_node:
        return _Served({n.id for n in networks}, router_ids)
    local = {
        port.network_id
        for port in ports
        if not port.device_owner.startswith("network:") and port.host_id == placement.host
    }
    return _Served(local, set())


def tap_name(names: Names, port_id: str) -> str:
    """The tap a hypervisor opens for a port (`-netdev tap,ifname=…,script=no`): the
    seam where the compute driver meets this host's data plane, which plugs the tap of
    that name into the port's bridge (or creates it, if the guest is not up yet)."""
    return names.tap(port_id)
