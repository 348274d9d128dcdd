"""/v2.0/subnets and /v2.0/subnets/{id}."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.network import listing, schemas, views
from nimbus.api.network.common import (
    authorize,
    authorize_on,
    created,
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
from nimbus.db.models.network import Network, Subnet
from nimbus.network import errors, networks, subnets


async def policy_target(session: AsyncSession, row: Subnet) -> dict[str, Any]:
    network = await session.get(Network, row.network_id)
    return target(
        row.project_id,
        network_id=row.network_id,
        network_project_id=network.project_id if network else None,
        shared=bool(network and network.shared),
    )


async def list_subnets(request: Request) -> Response:
    async with reading(request) as session:
        rows = await subnets.listing(session, scope(request))
    return listing.respond(request, "subnets", [views.subnet(row) for row in rows])


async def show_subnet(request: Request) -> Response:
    subnet_id = request.path_params["id"]
    async with reading(request) as session:
        row = await subnets.get(session, scope(request), subnet_id)
        policy = await policy_target(session, row)
    authorize_on(
        request, "get_subnet", "subnet", policy, errors.SubnetNotFound(subnet_id=subnet_id)
    )
    return json_response({"subnet": listing.fields(request, views.subnet(row))})


def _domain_arguments(given: dict[str, Any]) -> dict[str, Any]:
    """The body as nimbus.network.subnets takes it (pools and routes as plain dicts)."""
    arguments = {k: v for k, v in given.items() if k not in ("project_id", "tenant_id")}
    for unused in ("segment_id", "service_types"):
        arguments.pop(unused, None)
    return arguments


async def create_subnet(request: Request) -> Response:
    bodies, bulk = await parse_many(request, "subnet", "subnets", schemas.SubnetCreate)
    wanted = [(owner(request, body), _domain_arguments(set_fields(body))) for body in bodies]

    async def work(session: AsyncSession) -> list[dict]:
        docs = []
        for project_id, arguments in wanted:
            network = await networks.get(session, scope(request), arguments["network_id"])
            authorize(
                request,
                "create_subnet",
                target(
                    project_id,
                    network_project_id=network.project_id,
                    shared=network.shared,
                ),
            )
            row = await subnets.create(
                session, scope(request), options(request), project_id=project_id, **arguments
            )
            docs.append(views.subnet(row))
        return docs

    docs = await write(request, work)
    return created("subnets", docs) if bulk else created("subnet", docs[0])


async def update_subnet(request: Request) -> Response:
    body = await parse_one(request, "subnet", schemas.SubnetUpdate)
    changes = _domain_arguments(set_fields(body))
    subnet_id = request.path_params["id"]

    async def work(session: AsyncSession) -> dict:
        row = await subnets.get(session, scope(request), subnet_id)
        policy = await policy_target(session, row)
        authorize_on(
            request, "update_subnet", "subnet", policy, errors.SubnetNotFound(subnet_id=subnet_id)
        )
        await subnets.update(session, row, changes)
        return views.subnet(row)

    return json_response({"subnet": await write(request, work)})


async def delete_subnet(request: Request) -> Response:
    subnet_id = request.path_params["id"]

    async def work(session: AsyncSession) -> None:
        row = await subnets.get(session, scope(request), subnet_id)
        policy = await policy_target(session, row)
        authorize_on(
            request, "delete_subnet", "subnet", policy, errors.SubnetNotFound(subnet_id=subnet_id)
        )
        await subnets.delete_subnet(session, row)

    await write(request, work)
    return no_content()
