"""Ports: a network attachment (MAC + fixed IPs) for a server, router or service.

Besides the API, two callers use this module: Nova (`create_for_server`,
`by_device`, `delete_for_device`) and the network agent (`bind`, `set_status`,
`on_host`). A port is created DOWN and becomes ACTIVE when the agent has wired it.
"""

from __future__ import annotations

import ipaddress
import random
import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import FloatingIp, IpAllocation, Network, Port, PortSecurityGroup
from nimbus.network import errors, ipam, networks, quotas, records, security_groups, subnets
from nimbus.network.ipam import IpRequest
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATING_IP = "network:floatingip"
COMPUTE_PREFIX = "compute:"
#: Ports whose life is managed through another API (routers, floating IPs).
MANAGED_ELSEWHERE = (ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATING_IP)
STATUSES = ("ACTIVE", "DOWN", "BUILD", "ERROR")


def visible(scope: Scope) -> Any:
    """The caller's ports, and those on networks the caller owns."""
    query = select(Port)
    if scope.admin:
        return query
    owned = select(Network.id).where(Network.project_id == scope.project_id)
    return query.where((Port.project_id == scope.project_id) | Port.network_id.in_(owned))


async def get(session: AsyncSession, scope: Scope, port_id: str) -> Port:
    row = await session.scalar(visible(scope).where(Port.id == port_id))
    if row is None:
        raise errors.PortNotFound(port_id=port_id)
    return row


async def listing(session: AsyncSession, scope: Scope) -> list[Port]:
    return list((await session.scalars(visible(scope).order_by(Port.created_at))).all())


async def fixed_ips(session: AsyncSession, port_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Each port's fixed IPs as [{"subnet_id", "ip_address"}], in address order."""
    found: dict[str, list[dict[str, str]]] = {port_id: [] for port_id in port_ids}
    if port_ids:
        query = select(IpAllocation).where(IpAllocation.port_id.in_(port_ids))
        rows = sorted(
            (await session.scalars(query)).all(),
            key=lambda r: (ipaddress.ip_address(r.ip_address).version, r.ip_address),
        )
        for row in rows:
            found[row.port_id].append({"subnet_id": row.subnet_id, "ip_address": row.ip_address})
    return found


async def _mac_taken(session: AsyncSession, network_id: str, mac: str) -> bool:
    query = select(Port.id).where(Port.network_id == network_id, Port.mac_address == mac)
    return await session.scalar(query) is not None


async def _given_mac(session: AsyncSession, network_id: str, given: str) -> str:
    mac = given.lower()
    if not MAC.match(mac) or int(mac[:2], 16) & 1:
        raise errors.InvalidInput(error_message=f"'{given}' is not a valid MAC address")
    if await _mac_taken(session, network_id, mac):
        raise errors.MacAddressInUse(net_id=network_id, mac=mac)
    return mac


async def _new_mac(session: AsyncSession, options: NetworkOptions, network_id: str) -> str:
    """A random MAC under the configured base, unused on the network (the unique
    constraint on (network, MAC) settles a concurrent pick of the same one)."""
    while True:
        tail = ":".join(f"{random.randrange(256):02x}" for _ in range(3))
        mac = f"{options.mac_base}:{tail}"
        if not await _mac_taken(session, network_id, mac):
            return mac


def _address_pairs(pairs: list[dict[str, str]], mac: str) -> list[dict[str, str]]:
    normal = []
    for pair in pairs:
        text = pair.get("ip_address")
        try:
            network = ipaddress.ip_network(str(text), strict=False)
        except ValueError:
            raise errors.InvalidInput(
                error_message=f"'{text}' is not a valid IP address or CIDR"
            ) from None
        address = (
            str(network.network_address)
            if network.prefixlen == network.max_prefixlen
            else str(network)
        )
        normal.append({"ip_address": address, "mac_address": pair.get("mac_address") or mac})
    if len({(p["ip_address"], p["mac_address"]) for p in normal}) != len(normal):
        raise errors.InvalidInput(
            error_message="Duplicate address detected in allowed_address_pairs"
        )
    return normal


async def _security_groups(
    session: AsyncSession,
    scope: Scope,
    *,
    project_id: str,
    device_owner: str,
    enabled: bool,
    given: list[str] | None,
) -> list[str]:
    """The port's groups: the ones named, else the project's default for a port that
    filters traffic and is not the network's own (router, DHCP) port."""
    if given is None:
        if not enabled or device_owner.startswith("network:") or not project_id:
            return []
        return [await security_groups.ensure_default(session, project_id)]
    if given and not enabled:
        raise errors.PortSecurityAndIPRequiredForSecurityGroups()
    for group_id in given:
        await security_groups.get(session, scope, group_id)
    return list(dict.fromkeys(given))


async def create(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    *,
    network_id: str,
    project_id: str,
    fixed_ips: list[IpRequest] | None = None,
    mac_address: str | None = None,
    security_groups: list[str] | None = None,
    allowed_address_pairs: list[dict[str, str]] | None = None,
    port_security_enabled: bool | None = None,
    device_owner: str = "",
    **attributes: Any,
) -> Port:
    """A port; `attributes` are its plain columns (name, device_id, host_id...)."""
    network = await networks.get(session, scope, network_id)
    if not (scope.owns(network.project_id) or network.shared):
        raise errors.NetworkNotFound(net_id=network_id)
    await quotas.check(session, options, project_id, "port")
    enabled = (
        network.port_security_enabled if port_security_enabled is None else port_security_enabled
    )
    if allowed_address_pairs and not enabled:
        raise errors.AddressPairAndPortSecurityRequired()
    groups = await _security_groups(
        session,
        scope,
        project_id=project_id,
        device_owner=device_owner,
        enabled=enabled,
        given=security_groups,
    )
    if mac_address is None:
        mac = await _new_mac(session, options, network_id)
    else:
        mac = await _given_mac(session, network_id, mac_address)
    port = Port(
        network_id=network_id,
        project_id=project_id,
        mac_address=mac,
        device_owner=device_owner,
        port_security_enabled=enabled,
        allowed_address_pairs=_address_pairs(allowed_address_pairs or [], mac),
        **attributes,
    )
    session.add(port)
    await session.flush()
    await ipam.allocate(
        session,
        network_id=network_id,
        subnets=await subnets.of_network(session, network_id),
        port_id=port.id,
        mac=mac,
        requests=fixed_ips,
    )
    session.add_all(PortSecurityGroup(port_id=port.id, security_group_id=g) for g in groups)
    await session.flush()
    return port


async def update(
    session: AsyncSession,
    scope: Scope,
    port: Port,
    changes: dict[str, Any],
) -> Port:
    """Plain columns, and fixed IPs, groups, address pairs and port security."""
    changes = dict(changes)
    requests = changes.pop("fixed_ips", None)
    groups = changes.pop("security_groups", None)
    enabled = changes.get("port_security_enabled", port.port_security_enabled)
    if "mac_address" in changes and changes["mac_address"] != port.mac_address:
        if port.vif_type not in ("unbound", "binding_failed"):
            raise errors.PortBound(port_id=port.id)
        changes["mac_address"] = await _given_mac(session, port.network_id, changes["mac_address"])
    pairs = changes.get("allowed_address_pairs")
    if pairs is not None:
        changes["allowed_address_pairs"] = _address_pairs(pairs, port.mac_address)
    if (changes.get("allowed_address_pairs", port.allowed_address_pairs)) and not enabled:
        raise errors.AddressPairAndPortSecurityRequired()
    current = (await security_groups.groups_of_ports(session, [port.id]))[port.id]
    if not enabled and (groups or (groups is None and current)):
        raise errors.PortSecurityAndIPRequiredForSecurityGroups()
    if requests is not None:
        await session.execute(delete(IpAllocation).where(IpAllocation.port_id == port.id))
        await session.flush()
        await ipam.allocate(
            session,
            network_id=port.network_id,
            subnets=await subnets.of_network(session, port.network_id),
            port_id=port.id,
            mac=changes.get("mac_address", port.mac_address),
            requests=requests,
        )
    if groups is not None:
        wanted = await _security_groups(
            session,
            scope,
            project_id=port.project_id,
            device_owner=port.device_owner,
            enabled=enabled,
            given=groups,
        )
        await session.execute(delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
        session.add_all(PortSecurityGroup(port_id=port.id, security_group_id=g) for g in wanted)
    records.update(port, changes)
    if requests is not None or groups is not None:
        records.touch(port)
    await session.flush()
    return port


async def delete_port(session: AsyncSession, port: Port, *, managed: bool = False) -> None:
    """Router and floating IP ports go only through their own APIs (`managed`); the
    floating IPs that pointed at the port are disassociated."""
    if port.device_owner in MANAGED_ELSEWHERE and not managed:
        raise errors.L3PortInUse(port_id=port.id, device_owner=port.device_owner)
    associated = await session.scalars(
        select(FloatingIp).where(FloatingIp.fixed_port_id == port.id)
    )
    for fip in associated:
        fip.fixed_port_id = fip.fixed_ip_address = fip.router_id = None
        fip.status = "DOWN"
        records.touch(fip)
    await session.delete(port)
    await session.flush()


# --- what Nova and the network agent call -----------------------------------------------


async def create_for_server(
    session: AsyncSession,
    options: NetworkOptions,
    *,
    network_id: str,
    project_id: str,
    server_id: str,
    availability_zone: str = "nova",
    security_groups: list[str] | None = None,
) -> Port:
    """A port for a server being built, as Nova asks for one (owned by the server's
    project, on a network that project may use)."""
    return await create(
        session,
        Scope(project_id=project_id),
        options,
        network_id=network_id,
        project_id=project_id,
        device_id=server_id,
        device_owner=f"{COMPUTE_PREFIX}{availability_zone}",
        security_groups=security_groups,
    )


async def by_device(session: AsyncSession, device_id: str) -> list[Port]:
    query = select(Port).where(Port.device_id == device_id).order_by(Port.created_at)
    return list((await session.scalars(query)).all())


async def on_host(session: AsyncSession, host: str) -> list[Port]:
    """The ports bound to `host`, which its network agent wires."""
    query = select(Port).where(Port.host_id == host).order_by(Port.created_at)
    return list((await session.scalars(query)).all())


async def bind(
    session: AsyncSession,
    port_id: str,
    host: str,
    *,
    vif_type: str = "tap",
    vif_details: dict[str, Any] | None = None,
) -> Port:
    """Bind the port to `host` (binding:host_id, vif_type); unbinding passes host ""."""
    port = await session.get(Port, port_id)
    if port is None:
        raise errors.PortNotFound(port_id=port_id)
    records.update(
        port,
        {
            "host_id": host,
            "vif_type": vif_type if host else "unbound",
            "vif_details": (vif_details or {"port_filter": True}) if host else {},
        },
    )
    await session.flush()
    return port


async def set_status(session: AsyncSession, port_id: str, status: str) -> Port:
    """What the agent reports once the port is wired (ACTIVE) or unwired (DOWN)."""
    if status not in STATUSES:
        raise ValueError(f"unknown port status {status!r}")
    port = await session.get(Port, port_id)
    if port is None:
        raise errors.PortNotFound(port_id=port_id)
    records.update(port, {"status": status})
    await session.flush()
    return port


async def delete_for_device(session: AsyncSession, device_id: str) -> None:
    """Release a deleted server's ports."""
    for port in await by_device(session, device_id):
        await delete_port(session, port)
