"""Routers: join subnets (interfaces) and reach an external network (the gateway).

An interface is a port owned by the router (device_owner network:router_interface,
device_id the router); added by subnet, it takes the subnet's gateway address, so a
subnet's gateway can be on one router only (the second one finds the address in
use). The gateway is a port on the external network, owned by no project.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import FloatingIp, IpAllocation, Port, Router, Subnet
from nimbus.network import errors, networks, ports, quotas, records, subnets
from nimbus.network.ipam import IpRequest
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import SERVICE, Scope


async def get(session: AsyncSession, scope: Scope, router_id: str) -> Router:
    return await records.get_owned(
        session, Router, router_id, scope, lambda i: errors.RouterNotFound(router_id=i)
    )


async def listing(session: AsyncSession, scope: Scope) -> list[Router]:
    return await records.listing(session, Router, scope)


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="router", msg=msg)


async def gateways(session: AsyncSession, routers: list[Router]) -> dict[str, dict[str, Any]]:
    """external_gateway_info of each router that has a gateway."""
    port_ids = [r.gw_port_id for r in routers if r.gw_port_id]
    if not port_ids:
        return {}
    gw_ports = {p.id: p for p in (await session.scalars(select(Port).where(Port.id.in_(port_ids))))}
    addresses = await ports.fixed_ips(session, port_ids)
    return {
        router.id: {
            "network_id": gw_ports[router.gw_port_id].network_id,
            "enable_snat": router.enable_snat,
            "external_fixed_ips": addresses[router.gw_port_id],
        }
        for router in routers
        if router.gw_port_id in gw_ports
    }


async def interface_ports(session: AsyncSession, router_id: str) -> list[Port]:
    query = select(Port).where(
        Port.device_id == router_id, Port.device_owner == ports.ROUTER_INTERFACE
    )
    return list((await session.scalars(query)).all())


async def _interface_subnets(session: AsyncSession, router_id: str) -> list[Subnet]:
    query = (
        select(Subnet)
        .join(IpAllocation, IpAllocation.subnet_id == Subnet.id)
        .join(Port, Port.id == IpAllocation.port_id)
        .where(Port.device_id == router_id, Port.device_owner == ports.ROUTER_INTERFACE)
    )
    return list((await session.scalars(query)).unique().all())


async def create(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    *,
    project_id: str,
    external_gateway_info: dict[str, Any] | None = None,
    **attributes: Any,
) -> Router:
    await quotas.check(session, options, project_id, "router")
    router = Router(project_id=project_id, **attributes)
    session.add(router)
    await session.flush()
    if external_gateway_info:
        await set_gateway(session, scope, options, router, external_gateway_info)
    return router


async def _fips_through(session: AsyncSession, router_id: str) -> bool:
    query = select(FloatingIp.id).where(FloatingIp.router_id == router_id).limit(1)
    return await session.scalar(query) is not None


async def _clear_gateway(session: AsyncSession, router: Router, network_id: str) -> None:
    """Remove the gateway port, refused while floating IPs go through the router."""
    if await _fips_through(session, router.id):
        raise errors.RouterExternalGatewayInUseByFloatingIp(router_id=router.id, net_id=network_id)
    old = await session.get(Port, router.gw_port_id)
    router.gw_port_id = None
    router.enable_snat = True
    if old is not None:
        await ports.delete_port(session, old, managed=True)


async def set_gateway(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    router: Router,
    info: dict[str, Any] | None,
) -> None:
    """Set, change or (info None/{}) clear the router's external gateway."""
    current = (await gateways(session, [router])).get(router.id)
    wanted_network = (info or {}).get("network_id")
    if current and current["network_id"] != wanted_network:
        await _clear_gateway(session, router, current["network_id"])
    if info:
        network = await networks.get(session, scope, wanted_network)
        if not network.external:
            raise _bad(f"Network {wanted_network} is not a valid external network")
        router.enable_snat = info.get("enable_snat", True)
        requests = [
            IpRequest(subnet_id=ip.get("subnet_id"), ip_address=ip.get("ip_address"))
            for ip in info.get("external_fixed_ips") or []
        ] or None
        if current and current["network_id"] == wanted_network:
            if requests is not None:
                port = await session.get(Port, router.gw_port_id)
                await ports.update(session, SERVICE, port, {"fixed_ips": requests})  # type: ignore[arg-type]
        else:
            port = await ports.create(
                session,
                SERVICE,
                options,
                network_id=wanted_network,
                project_id="",
                fixed_ips=requests,
                device_owner=ports.ROUTER_GATEWAY,
                device_id=router.id,
            )
            router.gw_port_id = port.id
    records.touch(router)
    await session.flush()


def _check_routes(routes: list[dict[str, str]], connected: list[Subnet]) -> list[dict[str, str]]:
    normal = []
    for route in routes:
        try:
            destination = ipaddress.ip_network(route["destination"], strict=False)
            nexthop = ipaddress.ip_address(route["nexthop"])
        except (ValueError, KeyError, TypeError):
            raise errors.InvalidRoutes(
                routes=routes, reason="invalid destination or nexthop"
            ) from None
        if not any(nexthop in ipaddress.ip_network(s.cidr) for s in connected):
            raise errors.InvalidRoutes(
                routes=routes,
                reason="the nexthop is not connected with router",
            )
        normal.append({"destination": str(destination), "nexthop": str(nexthop)})
    return normal


async def update(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    router: Router,
    changes: dict[str, Any],
) -> Router:
    changes = dict(changes)
    if "external_gateway_info" in changes:
        await set_gateway(session, scope, options, router, changes.pop("external_gateway_info"))
    if "routes" in changes:
        connected = await _interface_subnets(session, router.id)
        if router.gw_port_id:
            gw = await ports.fixed_ips(session, [router.gw_port_id])
            ids = [ip["subnet_id"] for ip in gw[router.gw_port_id]]
            connected += list(
                (await session.scalars(select(Subnet).where(Subnet.id.in_(ids)))).all()
            )
        changes["routes"] = _check_routes(changes["routes"] or [], connected)
    records.update(router, changes)
    await session.flush()
    return router


async def delete_router(session: AsyncSession, router: Router) -> None:
    if await interface_ports(session, router.id):
        raise errors.RouterInUse(router_id=router.id, reason="still has ports")
    gateway = (await gateways(session, [router])).get(router.id)
    if gateway:
        await _clear_gateway(session, router, gateway["network_id"])
    await session.delete(router)


def _interface_info(router: Router, port: Port, fixed: list[dict[str, str]]) -> dict[str, Any]:
    """The body add/remove_router_interface answer with."""
    subnet_ids = [ip["subnet_id"] for ip in fixed]
    return {
        "id": router.id,
        "tenant_id": router.project_id,
        "project_id": router.project_id,
        "port_id": port.id,
        "network_id": port.network_id,
        "subnet_id": subnet_ids[0] if subnet_ids else None,
        "subnet_ids": subnet_ids,
    }


async def _check_no_overlap(session: AsyncSession, router: Router, subnet: Subnet) -> None:
    new = ipaddress.ip_network(subnet.cidr)
    for other in await _interface_subnets(session, router.id):
        if other.id == subnet.id:
            raise _bad(f"Router already has a port on subnet {subnet.id}")
        if new.version == ipaddress.ip_network(other.cidr).version and new.overlaps(
            ipaddress.ip_network(other.cidr)  # type: ignore[arg-type]
        ):
            raise _bad(
                f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr {other.cidr} "
                f"of subnet {other.id}"
            )


async def add_interface(
    session: AsyncSession,
    scope: Scope,
    options: NetworkOptions,
    router: Router,
    *,
    subnet_id: str | None = None,
    port_id: str | None = None,
) -> dict[str, Any]:
    """Attach a subnet (a new port with its gateway address) or an existing port."""
    if bool(subnet_id) == bool(port_id):
        raise _bad("Either subnet_id or port_id must be specified")
    if subnet_id:
        subnet = await subnets.get(session, scope, subnet_id)
        if not subnet.gateway_ip:
            raise _bad("Subnet for router interface must have a gateway IP")
        await _check_no_overlap(session, router, subnet)
        port = await ports.create(
            session,
            SERVICE,
            options,
            network_id=subnet.network_id,
            project_id=router.project_id,
            fixed_ips=[IpRequest(subnet_id=subnet.id, ip_address=subnet.gateway_ip)],
            device_owner=ports.ROUTER_INTERFACE,
            device_id=router.id,
        )
    else:
        port = await ports.get(session, scope, port_id)  # type: ignore[arg-type]
        if port.device_id:
            raise errors.PortInUse(
                port_id=port.id, net_id=port.network_id, device_id=port.device_id
            )
        fixed = (await ports.fixed_ips(session, [port.id]))[port.id]
        if not fixed:
            raise _bad(f"Router port {port.id} must have at least one fixed IP")
        for ip in fixed:
            await _check_no_overlap(session, router, await session.get(Subnet, ip["subnet_id"]))  # type: ignore[arg-type]
        records.update(port, {"device_owner": ports.ROUTER_INTERFACE, "device_id": router.id})
    records.touch(router)
    await session.flush()
    return _interface_info(router, port, (await ports.fixed_ips(session, [port.id]))[port.id])


async def remove_interface(
    session: AsyncSession,
    scope: Scope,
    router: Router,
    *,
    subnet_id: str | None = None,
    port_id: str | None = None,
) -> dict[str, Any]:
    if not subnet_id and not port_id:
        raise _bad("Either subnet_id or port_id must be specified")
    candidates = await interface_ports(session, router.id)
    addresses = await ports.fixed_ips(session, [p.id for p in candidates])
    if port_id:
        port = next((p for p in candidates if p.id == port_id), None)
        if port is None:
            raise errors.RouterInterfaceNotFound(router_id=router.id, port_id=port_id)
        if subnet_id and subnet_id not in {ip["subnet_id"] for ip in addresses[port.id]}:
            raise errors.SubnetMismatchForPort(port_id=port_id, subnet_id=subnet_id)
    else:
        await subnets.get(session, scope, subnet_id)  # type: ignore[arg-type]
        port = next(
            (p for p in candidates if subnet_id in {ip["subnet_id"] for ip in addresses[p.id]}),
            None,
        )
        if port is None:
            raise errors.RouterInterfaceNotFoundForSubnet(router_id=router.id, subnet_id=subnet_id)
    fixed = addresses[port.id]
    await _check_fips_need(session, router, port, fixed)
    info = _interface_info(router, port, fixed)
    await ports.delete_port(session, port, managed=True)
    records.touch(router)
    await session.flush()
    return info


async def _check_fips_need(
    session: AsyncSession, router: Router, port: Port, fixed: list[dict[str, str]]
) -> None:
    """A floating IP reaching a port on this interface's network needs the interface."""
    query = (
        select(FloatingIp.id)
        .join(Port, Port.id == FloatingIp.fixed_port_id)
        .where(FloatingIp.router_id == router.id, Port.network_id == port.network_id)
        .limit(1)
    )
    if await session.scalar(query) is not None:
        raise errors.RouterInterfaceInUseByFloatingIP(
            router_id=router.id, subnet_id=fixed[0]["subnet_id"] if fixed else ""
        )


async def router_for(
    session: AsyncSession, subnet_id: str, external_network_id: str
) -> Router | None:
    """A router with an interface on `subnet_id` and a gateway on the external network:
    the path a floating IP's traffic takes."""
    query = (
        select(Router)
        .join(Port, Port.device_id == Router.id)
        .join(IpAllocation, IpAllocation.port_id == Port.id)
        .where(Port.device_owner == ports.ROUTER_INTERFACE, IpAllocation.subnet_id == subnet_id)
    )
    for router in (await session.scalars(query)).unique().all():
        gateway = (await gateways(session, [router])).get(router.id)
        if gateway and gateway["network_id"] == external_network_id:
            return router
    return None
