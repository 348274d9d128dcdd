"""/v2.0/networks and /v2.0/networks/{id}."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.network import listing, schemas, views
from nimbus.api.network.common import (
    authorize,
    authorize_attributes,
    authorize_on,
    created,
    hide_attributes,
    options,
    owner,
    parse_many,
    parse_one,
    reading,
    scope,
    set_fields,
    target,
    write,
)
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


def policy_target(row: Network) -> dict[str, Any]:
    return target(row.project_id, shared=row.shared, external=row.external)


async def documents(request: Request, session: AsyncSession, rows: list[Network]) -> list[dict]:
    subnets = await networks.subnet_ids(session, [row.id for row in rows])
    return [
        hide_attributes(request, "network", views.network(row, subnets[row.id]), policy_target(row))
        for row in rows
    ]


async def list_networks(request: Request) -> Response:
    async with reading(request) as session:
        rows = await networks.listing(session, scope(request))
        docs = await documents(request, session, rows)
    return listing.respond(request, "networks", docs)


async def show_network(request: Request) -> Response:
    network_id = request.path_params["id"]
    async with reading(request) as session:
        row = await networks.get(session, scope(request), network_id)
        authorize_on(
            request,
            "get_network",
            "network",
            policy_target(row),
            errors.NetworkNotFound(net_id=network_id),
        )
        (doc,) = await documents(request, session, [row])
    return json_response({"network": listing.fields(request, doc)})


async def create_network(request: Request) -> Response:
    bodies, bulk = await parse_many(request, "network", "networks", schemas.NetworkCreate)
    wanted = []
    for body in bodies:
        project_id = owner(request, body)
        given = set_fields(body)
        policy = target(project_id, shared=body.shared, external=body.router_external)
        authorize(request, "create_network", policy)
        authorize_attributes(request, "create_network", given, policy, CREATE_DEFAULTS)
        columns = {COLUMNS[k]: v for k, v in given.items() if k in COLUMNS}
        wanted.append((project_id, columns, body))

    async def work(session: AsyncSession) -> list[dict]:
        rows = [
            await networks.create(
                session,
                options(request),
                project_id=project_id,
                network_type=body.network_type,
                physical_network=body.physical_network,
                segmentation_id=body.segmentation_id,
                **columns,
            )
            for project_id, columns, body in wanted
        ]
        return await documents(request, session, rows)

    docs = await write(request, work)
    return created("networks", docs) if bulk else created("network", docs[0])


async def update_network(request: Request) -> Response:
    body = await parse_one(request, "network", schemas.NetworkUpdate)
    given = set_fields(body)
    if any(name in given for name in PROVIDER):
        raise errors.InvalidInput(
            error_message="Plugin does not support updating provider attributes"
        )
    network_id = request.path_params["id"]

    async def work(session: AsyncSession) -> dict:
        row = await networks.get(session, scope(request), network_id)
        policy = policy_target(row)
        authorize_on(
            request, "update_network", "network", policy, errors.NetworkNotFound(net_id=network_id)
        )
        authorize_attributes(request, "update_network", given, policy)
        changes = {COLUMNS[k]: v for k, v in given.items()}
        await networks.update(session, options(request), row, changes)
        (doc,) = await documents(request, session, [row])
        return doc

    return json_response({"network": await write(request, work)})


async def delete_network(request: Request) -> Response:
    network_id = request.path_params["id"]

    async def work(session: AsyncSession) -> None:
        row = await networks.get(session, scope(request), network_id)
        authorize_on(
            request,
            "delete_network",
            "network",
            policy_target(row),
            errors.NetworkNotFound(net_id=network_id),
        )
        await networks.delete_network(session, scope(request), network_id)

    await write(request, work)
    return no_content()
