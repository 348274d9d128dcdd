"""/v2.0/floatingips and /v2.0/floatingips/{id}."""

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
from nimbus.db.models.network import FloatingIp
from nimbus.network import errors, floatingips


def policy_target(row: FloatingIp) -> dict[str, Any]:
    return target(row.project_id)


def _missing(fip_id: str) -> errors.FloatingIPNotFound:
    return errors.FloatingIPNotFound(floatingip_id=fip_id)


async def list_floatingips(request: Request) -> Response:
    async with reading(request) as session:
        rows = await floatingips.listing(session, scope(request))
    return listing.respond(request, "floatingips", [views.floatingip(row) for row in rows])


async def show_floatingip(request: Request) -> Response:
    fip_id = request.path_params["id"]
    async with reading(request) as session:
        row = await floatingips.get(session, scope(request), fip_id)
    authorize_on(request, "get_floatingip", "floatingip", policy_target(row), _missing(fip_id))
    return json_response({"floatingip": listing.fields(request, views.floatingip(row))})


async def create_floatingip(request: Request) -> Response:
    bodies, bulk = await parse_many(request, "floatingip", "floatingips", schemas.FloatingIpCreate)
    wanted = []
    for body in bodies:
        project_id = owner(request, body)
        policy = target(project_id)
        authorize(request, "create_floatingip", policy)
        if body.floating_ip_address:
            authorize(request, "create_floatingip:floating_ip_address", policy)
        given = {k: v for k, v in set_fields(body).items() if k not in ("project_id", "tenant_id")}
        wanted.append((project_id, given))

    async def work(session: AsyncSession) -> list[dict]:
        rows = [
            await floatingips.create(
                session, scope(request), options(request), project_id=project_id, **given
            )
            for project_id, given in wanted
        ]
        return [views.floatingip(row) for row in rows]

    docs = await write(request, work)
    return created("floatingips", docs) if bulk else created("floatingip", docs[0])


async def update_floatingip(request: Request) -> Response:
    body = await parse_one(request, "floatingip", schemas.FloatingIpUpdate)
    changes = set_fields(body)
    fip_id = request.path_params["id"]

    async def work(session: AsyncSession) -> dict:
        row = await floatingips.get(session, scope(request), fip_id)
        authorize_on(
            request, "update_floatingip", "floatingip", policy_target(row), _missing(fip_id)
        )
        await floatingips.update(session, scope(request), row, changes)
        return views.floatingip(row)

    return json_response({"floatingip": await write(request, work)})


async def delete_floatingip(request: Request) -> Response:
    fip_id = request.path_params["id"]

    async def work(session: AsyncSession) -> None:
        row = await floatingips.get(session, scope(request), fip_id)
        authorize_on(
            request, "delete_floatingip", "floatingip", policy_target(row), _missing(fip_id)
        )
        await floatingips.delete_floatingip(session, row)

    await write(request, work)
    return no_content()
