"""/v2.0/routers, /v2.0/routers/{id} and its add/remove_router_interface actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.common.body import read_json
from nimbus.api.network import schemas, views
from nimbus.api.network.common import (
    authorize,
    hide_attributes,
    options,
    owner,
    scope,
    set_fields,
    target,
    validate,
    write,
)
from nimbus.api.network.resource import Maker, Resource
from nimbus.db.models.network import Router
from nimbus.network import errors, routers

FIXED = ("distributed", "ha")


async def documents(request: Request, session: AsyncSession, rows: list[Router]) -> list[dict]:
    gateways = await routers.gateways(session, rows)
    return [
        hide_attributes(
            request, "router", views.router(row, gateways.get(row.id)), target(row.project_id)
        )
        for row in rows
    ]


ROUTER = Resource(
    name="router",
    get=routers.get,
    rows=routers.listing,
    remove=lambda session, _scope, row: routers.delete_router(session, row),
    documents=documents,
    missing=lambda router_id: errors.RouterNotFound(router_id=router_id),
)


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


async def create_router(request: Request) -> Response:
    def prepare(body: schemas.RouterCreate) -> Maker[Router]:
        project_id = owner(request, body)
        given = set_fields(body)
        policy = target(project_id)
        authorize(request, "create_router", policy)
        _authorize_gateway(request, "create_router", given, policy)
        arguments = _domain_arguments(given)
        return lambda session: routers.create(
            session, scope(request), options(request), project_id=project_id, **arguments
        )

    return await ROUTER.create(request, schemas.RouterCreate, prepare)


async def update_router(request: Request) -> Response:
    given = await ROUTER.given(request, schemas.RouterUpdate)

    async def change(session: AsyncSession, row: Router, policy: dict[str, Any]) -> None:
        _authorize_gateway(request, "update_router", given, policy)
        await routers.update(
            session, scope(request), options(request), row, _domain_arguments(given)
        )

    return await ROUTER.update(request, change)


async def _interface(request: Request, action: str) -> Response:
    body = validate(schemas.RouterInterface, await read_json(request))

    async def work(session: AsyncSession) -> dict:
        row, _ = await ROUTER.find(request, session, action, request.path_params["id"])
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
