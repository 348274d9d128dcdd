"""/v2.0/subnetpools and /v2.0/subnetpools/{id}."""

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
    owner,
    parse_many,
    parse_one,
    reading,
    scope,
    set_fields,
    target,
    write,
)
from nimbus.db.models.network import SubnetPool
from nimbus.network import errors, subnetpools

CREATE_DEFAULTS = {"shared": False, "is_default": False}
#: Accepted for upstream's sake, always null (address scopes are not implemented).
IGNORED = ("project_id", "tenant_id", "address_scope_id")


def policy_target(row: SubnetPool) -> dict[str, Any]:
    return target(row.project_id, shared=row.shared)


def _missing(pool_id: str) -> errors.SubnetPoolNotFound:
    return errors.SubnetPoolNotFound(subnetpool_id=pool_id)


async def list_pools(request: Request) -> Response:
    async with reading(request) as session:
        rows = await subnetpools.listing(session, scope(request))
    return listing.respond(request, "subnetpools", [views.subnetpool(row) for row in rows])


async def show_pool(request: Request) -> Response:
    pool_id = request.path_params["id"]
    async with reading(request) as session:
        row = await subnetpools.get(session, scope(request), pool_id)
    authorize_on(request, "get_subnetpool", "subnetpool", policy_target(row), _missing(pool_id))
    return json_response({"subnetpool": listing.fields(request, views.subnetpool(row))})


async def create_pool(request: Request) -> Response:
    bodies, bulk = await parse_many(request, "subnetpool", "subnetpools", schemas.SubnetPoolCreate)
    wanted = []
    for body in bodies:
        project_id = owner(request, body)
        given = set_fields(body)
        policy = target(project_id, shared=body.shared)
        authorize(request, "create_subnetpool", policy)
        authorize_attributes(request, "create_subnetpool", given, policy, CREATE_DEFAULTS)
        wanted.append((project_id, {k: v for k, v in given.items() if k not in IGNORED}))

    async def work(session: AsyncSession) -> list[dict]:
        rows = [
            await subnetpools.create(session, project_id=project_id, **given)
            for project_id, given in wanted
        ]
        return [views.subnetpool(row) for row in rows]

    docs = await write(request, work)
    return created("subnetpools", docs) if bulk else created("subnetpool", docs[0])


async def update_pool(request: Request) -> Response:
    body = await parse_one(request, "subnetpool", schemas.SubnetPoolUpdate)
    given = set_fields(body)
    pool_id = request.path_params["id"]

    async def work(session: AsyncSession) -> dict:
        row = await subnetpools.get(session, scope(request), pool_id)
        policy = policy_target(row)
        authorize_on(request, "update_subnetpool", "subnetpool", policy, _missing(pool_id))
        authorize_attributes(request, "update_subnetpool", given, policy)
        changes = {k: v for k, v in given.items() if k not in IGNORED}
        return views.subnetpool(await subnetpools.update(session, row, changes))

    return json_response({"subnetpool": await write(request, work)})


async def delete_pool(request: Request) -> Response:
    pool_id = request.path_params["id"]

    async def work(session: AsyncSession) -> None:
        row = await subnetpools.get(session, scope(request), pool_id)
        authorize_on(
            request, "delete_subnetpool", "subnetpool", policy_target(row), _missing(pool_id)
        )
        await subnetpools.delete_pool(session, row)

    await write(request, work)
    return no_content()
