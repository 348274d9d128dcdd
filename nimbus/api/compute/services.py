"""Compute services: /os-services (list, filter by host and binary), enable, disable
and force down, delete. Admins only.

Before 2.53 a service is named by host and binary in the body of
``PUT /os-services/{enable,disable,disable-log-reason,force-down}`` and by row id for
delete; from 2.53 by its uuid in the path (``PUT /os-services/{uuid}``). 2.11 adds
``forced_down``. Only nova-compute services may be changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas, views
from nimbus.api.compute.common import (
    at_least,
    authorize,
    check_query,
    parse,
    path_id,
    reading,
    writing,
)
from nimbus.compute import service_admin, zones
from nimbus.compute.hosts import is_up
from nimbus.db.models.cell import Service
from nimbus.errors import BadRequest, NotFound

RULE = "os_compute_api:os-services"


async def _shown(
    request: Request, session: AsyncSession, rows: list[Service]
) -> list[dict[str, Any]]:
    down_time = request.app.state.service_down_time
    return [
        views.service(request, zoned, is_up(zoned.service, down_time))
        for zoned in await zones.zoned(session, rows)
    ]


async def list_services(request: Request) -> Response:
    authorize(request, f"{RULE}:list")
    check_query(request, ("host", "binary"), strict=at_least(request, "2.75"))
    params = request.query_params
    async with reading(request) as session:
        rows = await service_admin.list_services(
            session, host=params.get("host"), binary=params.get("binary")
        )
        return json_response({"services": await _shown(request, session, rows)})


def _integer_id(text: str) -> BadRequest:
    return BadRequest("Invalid input received: id must be an integer")


def _service_id(request: Request) -> int | str:
    """The path's id: a uuid from 2.53, an integer before (400 otherwise)."""
    return path_id(request, _integer_id)


async def update_service(request: Request) -> Response:
    authorize(request, f"{RULE}:update")
    if at_least(request, "2.53"):
        return await _update_by_uuid(request)
    return await _update_by_action(request)


_ACTIONS = ("enable", "disable", "disable-log-reason")


async def _update_by_action(request: Request) -> Response:
    action = request.path_params["id"]
    actions = (*_ACTIONS, "force-down") if at_least(request, "2.11") else _ACTIONS
    if action not in actions:
        raise NotFound("Unknown action")
    model = schemas.ServiceActionV211 if at_least(request, "2.11") else schemas.ServiceAction
    body = await parse(request, model)
    answer: dict[str, Any] = {"host": body.host, "binary": body.binary}
    if action == "force-down":
        forced = getattr(body, "forced_down", None)
        if forced is None:
            raise BadRequest("Missing forced_down field")
        changes: dict[str, Any] = {"forced_down": forced}
        answer["forced_down"] = forced
    elif action == "enable":
        changes = {"disabled": False, "disabled_reason": None}
        answer["status"] = "enabled"
    else:
        if action == "disable-log-reason" and body.disabled_reason is None:
            raise BadRequest("Missing disabled reason field")
        reason = body.disabled_reason if action == "disable-log-reason" else None
        changes = {"disabled": True, "disabled_reason": reason}
        answer["status"] = "disabled"
        if reason:
            answer["disabled_reason"] = reason
    async with writing(request) as session:
        row = await service_admin.by_host_and_binary(session, body.host, body.binary)
        for name, value in changes.items():
            setattr(row, name, value)
    return json_response({"service": answer})


async def _update_by_uuid(request: Request) -> Response:
    service_id = _service_id(request)
    body = await parse(request, schemas.ServiceUpdateV253)
    if body.status == "enabled" and body.disabled_reason:
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    if body.status is None and body.forced_down is None:
        raise BadRequest(
            "No updates were requested. Fields 'status' or 'forced_down' should be specified."
        )
    async with writing(request) as session:
        row = await service_admin.get_service(session, service_id)
        service_admin.refuse_non_compute(row.binary)
        if body.status is not None:
            row.disabled = body.status == "disabled"
            row.disabled_reason = body.disabled_reason if row.disabled else None
        if body.forced_down is not None:
            row.forced_down = body.forced_down
        await session.flush()
        (shown,) = await _shown(request, session, [row])
    return json_response({"service": shown})


async def delete_service(request: Request) -> Response:
    authorize(request, f"{RULE}:delete")
    service_id = _service_id(request)
    async with writing(request) as session:
        await service_admin.delete_service(
            session, await service_admin.get_service(session, service_id)
        )
    return Response(status_code=204)
