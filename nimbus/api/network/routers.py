"""/v2.0/routers, /v2.0/routers/{id} and its add/remove_router_interface actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import read_json
from nimbus.api.network import listing, schemas, views
from nimbus.api.network.common import (
    authorize,
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
    validate,
    write,
)
from nimbus.db.models.network import Router
from nimbus.network import errors, routers

FIXED = ("distributed", "ha")


def policy_target(row: Router) -> dict[str, Any]:
    return target(row.project_id)


async def documents(request: Request, session: AsyncSession, rows: list[Router]) -> list[dict]:
    gateways = await routers.gateways(session, rows)
    return [
        hide_attributes(
            request, "router", views.router(row, gateways.get(row.id)), policy_target(row)
        )
        for row in rows
    ]


def _authorize_gateway(
    request: Request, action: str, given: dict[str, Any], policy: dict[str, Any]
) -> None:
    """The external_gateway_info rules for what the body sets (SNAT and fixed IPs are
    the admin's), as upstream checks them attribute by attribute."""
    for name in FIXED:
        if name in given:
            authorize(request, f"{action}:{name}", policy)
    info = given.get("external_gateway_info")
    if not info:
        return
    if not info.get("network_id"):
        raise errors.InvalidInput(error_message="external_gateway_info requires a network_id")
    authorize(request, f"{action}:external_gateway_info", policy)
    for name in info:
        authorize(request, f"{action}:external_gateway_info:{name}", policy)


def _domain_arguments(given: dict[str, Any]) -> dict[str, Any]:
    skipped = ("project_id", "tenant_id", *FIXED)
    return {k: v for k, v in given.items() if k not in skipped}


async def list_routers(request: Request) -> Response:
    async with reading(request) as session:
        rows = await routers.listing(session, scope(request))
        docs = await documents(request, session, rows)
    return listing.respond(request, "routers", docs)


async def show_router(request: Request) -> Response:
    router_id = request.path_params["id"]
    async with reading(request) as session:
        row = await routers.get(session, scope(request), router_id)
        authorize_on(
            request,
            "get_router",
            "router",
            policy_target(row),
            errors.RouterNotFound(router_id=router_id),
        )
        (doc,) = await documents(request, session, [row])
    return json_response({"router": listing.fields(request, doc)})


async def create_router(request: Request) -> Response:
    bodies, bulk = await parse_many(request, "router", "routers", schemas.RouterCreate)
    wanted = []
    for body in bodies:
        project_id = owner(request, body)
        given = set_fields(body)
        policy = target(project_id)
        authorize(request, "create_router", policy)
        _authorize_gateway(request, "create_router", given, policy)
        wanted.append((project_id, _domain_arguments(given)))

    async def work(session: AsyncSession) -> list[dict]:
        rows = [
            await routers.create(
                session, scope(request), options(request), project_id=project_id, **arguments
            )
            for project_id, arguments in wanted
        ]
        return await documents(request, session, rows)

    docs = await write(request, work)
    return created("routers", docs) if bulk else created("router", docs[0])


async def update_router(request: Request) -> Response:
    body = await parse_one(request, "router", schemas.RouterUpdate)
    given = set_fields(body)
    router_id = request.path_params["id"]

    async def work(session: AsyncSession) -> dict:
        row = await routers.get(session, scope(request), router_id)
        policy = policy_target(row)
        authorize_on(
            request, "update_router", "router", policy, errors.RouterNotFound(router_id=router_id)
        )
        _authorize_gateway(request, "update_router", given, policy)
        await routers.update(
            session, scope(request), options(request), row, _domain_arguments(given)
        )
        (doc,) = await documents(request, session, [row])
        return doc

    return json_response({"router": await write(request, work)})


async def delete_router(request: Request) -> Response:
    router_id = request.path_params["id"]

    async def work(session: AsyncSession) -> None:
        row = await routers.get(session, scope(request), router_id)
        authorize_on(
            request,
            "delete_router",
            "router",
            policy_target(row),
            errors.RouterNotFound(router_id=router_id),
        )
        await routers.delete_router(session, row)

    await write(request, work)
    return no_content()


async def _interface(request: Request, action: str) -> Response:
    body = validate(schemas.RouterInterface, await read_json(request))
    router_id = request.path_params["id"]

    async def work(session: AsyncSession) -> dict:
        row = await routers.get(session, scope(request), router_id)
        authorize_on(
            request,
            action,
            "router",
            policy_target(row),
            errors.RouterNotFound(router_id=router_id),
        )
        if action == "add_router_interface":
            return await routers.add_interface(
                session,
                scope(request),
                options(request),
                row,
                subnet_id=body.subnet_id,
                port_id=body.port_id,
            )
        return await routers.remove_interface(
            session, scope(request), row, subnet_id=body.subnet_id, port_id=body.port_id
        )

    return json_response(await write(request, work))


async def add_interface(request: Request) -> Response:
    return await _interface(request, "add_router_interface")


async def remove_interface(request: Request) -> Response:
    return await _interface(request, "remove_router_interface")
