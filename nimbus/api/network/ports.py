"""/v2.0/ports and /v2.0/ports/{id}."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.network import schemas, views
from nimbus.api.network.common import (
    authorize,
    hide_attributes,
    options,
    owner,
    scope,
    set_fields,
    target,
)
from nimbus.api.network.resource import Maker, Resource
from nimbus.db.models.network import Network, Port
from nimbus.network import errors, networks, ports, security_groups
from nimbus.network.ipam import IpRequest

#: API names → the domain's names, where they differ.
RENAMED = {
    "binding:host_id": "host_id",
    "binding:vnic_type": "vnic_type",
    "binding:profile": "profile",
}

#: Attributes whose setting has a rule of its own (create_port:mac_address...).
GUARDED = (
    "mac_address",
    "port_security_enabled",
    "allowed_address_pairs",
    "binding:host_id",
    "binding:profile",
)


def _target(port_project: str, network: Network | None) -> dict[str, Any]:
    return target(
        port_project,
        network_project_id=network.project_id if network else None,
        shared=bool(network and network.shared),
    )


async def policy_target(session: AsyncSession, row: Port) -> dict[str, Any]:
    return _target(row.project_id, await session.get(Network, row.network_id))


async def documents(request: Request, session: AsyncSession, rows: list[Port]) -> list[dict]:
    ids = [row.id for row in rows]
    addresses = await ports.fixed_ips(session, ids)
    groups = await security_groups.groups_of_ports(session, ids)
    network_ids = {row.network_id for row in rows}
    found = await session.scalars(select(Network).where(Network.id.in_(network_ids)))
    owners = {network.id: network for network in found}
    return [
        hide_attributes(
            request,
            "port",
            views.port(row, addresses[row.id], groups[row.id]),
            _target(row.project_id, owners.get(row.network_id)),
        )
        for row in rows
    ]


PORT = Resource(
    name="port",
    get=ports.get,
    rows=ports.listing,
    remove=lambda session, _scope, row: ports.delete_port(session, row),
    documents=documents,
    missing=lambda port_id: errors.PortNotFound(port_id=port_id),
    policy_target=policy_target,
)


def _attribute_rules(action: str, given: dict[str, Any]) -> list[str]:
    """The attribute rules a create/update body triggers (upstream's attribute checks)."""
    rules = []
    if given.get("device_owner", "").startswith("network:"):
        rules.append(f"{action}:device_owner")
    for name in GUARDED:
        if given.get(name) is not None:
            rules.append(f"{action}:{name}")
    for fixed in given.get("fixed_ips") or []:
        if fixed.get("ip_address"):
            rules.append(f"{action}:fixed_ips:ip_address")
        elif fixed.get("subnet_id"):
            rules.append(f"{action}:fixed_ips:subnet_id")
    return rules


def _domain_arguments(given: dict[str, Any]) -> dict[str, Any]:
    arguments = {
        RENAMED.get(k, k): v for k, v in given.items() if k not in ("project_id", "tenant_id")
    }
    if arguments.get("fixed_ips") is not None:
        arguments["fixed_ips"] = [IpRequest(**spec) for spec in arguments["fixed_ips"]]
    if arguments.get("profile") is None:
        arguments.pop("profile", None)
    return arguments


async def create_port(request: Request) -> Response:
    def prepare(body: schemas.PortCreate) -> Maker[Port]:
        project_id = owner(request, body)
        given = set_fields(body)

        async def make(session: AsyncSession) -> Port:
            """The network decides who may add a port to it: found in the transaction."""
            network = await networks.get(session, scope(request), given["network_id"])
            policy = _target(project_id, network)
            authorize(request, "create_port", policy)
            for rule in _attribute_rules("create_port", given):
                authorize(request, rule, policy)
            return await ports.create(
                session,
                scope(request),
                options(request),
                project_id=project_id,
                **_domain_arguments(given),
            )

        return make

    return await PORT.create(request, schemas.PortCreate, prepare)


async def update_port(request: Request) -> Response:
    given = await PORT.given(request, schemas.PortUpdate)

    async def change(session: AsyncSession, row: Port, policy: dict[str, Any]) -> None:
        for rule in _attribute_rules("update_port", given):
            authorize(request, rule, policy)
        await ports.update(session, scope(request), row, _domain_arguments(given))

    return await PORT.update(request, change)
