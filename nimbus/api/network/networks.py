"""/v2.0/networks and /v2.0/networks/{id}."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.network import schemas, views
from nimbus.api.network.common import (
    authorize,
    authorize_attributes,
    hide_attributes,
    options,
    owner,
    set_fields,
    target,
)
from nimbus.api.network.resource import Maker, Resource
from nimbus.db.models.network import Network
from nimbus.network import errors, networks

#: API names → columns of the attributes stored as they are.
COLUMNS = {
    "name": "name",
    "description": "description",
    "admin_state_up": "admin_state_up",
    "shared": "shared",
    "router:external": "external",
    "port_security_enabled": "port_security_enabled",
    "availability_zone_hints": "availability_zone_hints",
    "tags": "tags",
    "mtu": "mtu",
}
PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
CREATE_DEFAULTS = {"shared": False, "router:external": False, "port_security_enabled": True}


def _target(row: Network) -> dict[str, Any]:
    return target(row.project_id, shared=row.shared, external=row.external)


async def policy_target(_session: AsyncSession, row: Network) -> dict[str, Any]:
    return _target(row)


async def documents(request: Request, session: AsyncSession, rows: list[Network]) -> list[dict]:
    subnets = await networks.subnet_ids(session, [row.id for row in rows])
    return [
        hide_attributes(request, "network", views.network(row, subnets[row.id]), _target(row))
        for row in rows
    ]


NETWORK = Resource(
    name="network",
    get=networks.get,
    rows=networks.listing,
    remove=lambda session, scope, row: networks.delete_network(session, scope, row.id),
    documents=documents,
    missing=lambda network_id: errors.NetworkNotFound(net_id=network_id),
    policy_target=policy_target,
)


async def create_network(request: Request) -> Response:
    def prepare(body: schemas.NetworkCreate) -> Maker[Network]:
        project_id = owner(request, body)
        given = set_fields(body)
        policy = target(project_id, shared=body.shared, external=body.router_external)
        authorize(request, "create_network", policy)
        authorize_attributes(request, "create_network", given, policy, CREATE_DEFAULTS)
        columns = {COLUMNS[k]: v for k, v in given.items() if k in COLUMNS}
        return lambda session: networks.create(
            session,
            options(request),
            project_id=project_id,
            network_type=body.network_type,
            physical_network=body.physical_network,
            segmentation_id=body.segmentation_id,
            **columns,
        )

    return await NETWORK.create(request, schemas.NetworkCreate, prepare)


async def update_network(request: Request) -> Response:
    given = await NETWORK.given(request, schemas.NetworkUpdate)
    if any(name in given for name in PROVIDER):
        raise errors.InvalidInput(
            error_message="Plugin does not support updating provider attributes"
        )

    async def change(session: AsyncSession, row: Network, policy: dict[str, Any]) -> None:
        authorize_attributes(request, "update_network", given, policy)
        changes = {COLUMNS[k]: v for k, v in given.items()}
        await networks.update(session, options(request), row, changes)

    return await NETWORK.update(request, change)
