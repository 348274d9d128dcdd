"""Hypervisors (compute nodes): list, detail, show, and the routes microversions
retired. Admins only.

By microversion: 2.28 turns cpu_info into an object; 2.33 pages lists (limit, marker,
a next link); 2.53 names nodes and services by uuid and replaces the search and
servers routes with the ``hypervisor_hostname_pattern`` and ``with_servers`` query
parameters; 2.75 always shows ``servers`` when asked for; 2.88 drops the sizes and
cpu_info, adds ``uptime`` and retires /statistics and /{id}/uptime.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import views
from nimbus.api.compute.common import (
    at_least,
    authorize,
    bool_from_string,
    check_query,
    limit_of,
    paged,
    path_id,
    reading,
)
from nimbus.compute import service_admin
from nimbus.compute.hosts import is_up
from nimbus.errors import BadRequest

RULE = "os_compute_api:os-hypervisors"
_QUERY_V253 = ("limit", "marker", "hypervisor_hostname_pattern", "with_servers")


def _with_servers(request: Request) -> bool:
    value = request.query_params.get("with_servers")
    if value is None or not at_least(request, "2.53"):
        return False
    parsed = bool_from_string(value)
    if parsed is None:
        raise BadRequest(f"Invalid input for query parameters with_servers. Value: {value}.")
    return parsed


async def _view(
    request: Request,
    session: AsyncSession,
    found: service_admin.Hypervisor,
    *,
    detail: bool,
    with_servers: bool = False,
) -> dict[str, Any]:
    servers = None
    if with_servers:
        servers = await service_admin.instances_on(session, found.node.host)
        if not servers and not at_least(request, "2.75"):
            servers = None
    alive = is_up(found.service, request.app.state.service_down_time)
    return views.hypervisor(request, found, alive, detail=detail, servers=servers)


def _marker(request: Request) -> int | str | None:
    marker = request.query_params.get("marker")
    if marker is None or at_least(request, "2.53"):
        return marker
    try:
        return int(marker)
    except ValueError:
        raise BadRequest(f"marker [{marker}] not found") from None


async def _listing(request: Request, *, detail: bool) -> Response:
    check_query(request, _QUERY_V253, strict=at_least(request, "2.53"))
    paging = at_least(request, "2.33")
    pattern = (
        request.query_params.get("hypervisor_hostname_pattern")
        if at_least(request, "2.53")
        else None
    )
    if pattern is not None and (
        "limit" in request.query_params or "marker" in request.query_params
    ):
        raise BadRequest(
            "Paging over hypervisors with the hypervisor_hostname_pattern query parameter "
            "is not supported."
        )
    limit = limit_of(request) if paging else None
    with_servers = _with_servers(request)
    async with reading(request) as session:
        found = await service_admin.list_hypervisors(
            session, limit=limit, marker=_marker(request) if paging else None, pattern=pattern
        )
        items = [
            await _view(request, session, hyp, detail=detail, with_servers=with_servers)
            for hyp in found
        ]
    if limit is None or pattern is not None:
        return json_response({"hypervisors": items})
    path = "os-hypervisors/detail" if detail else "os-hypervisors"
    return json_response(paged(request, "hypervisors", items, limit, path=path))


async def list_hypervisors(request: Request) -> Response:
    authorize(request, f"{RULE}:list")
    return await _listing(request, detail=False)


async def list_hypervisors_detail(request: Request) -> Response:
    authorize(request, f"{RULE}:list-detail")
    return await _listing(request, detail=True)


def _hypervisor_id(request: Request) -> int | str:
    """A uuid from 2.53, an integer before (anything else is no hypervisor: 404)."""
    return path_id(request, service_admin.HypervisorNotFound)


async def show_hypervisor(request: Request) -> Response:
    authorize(request, f"{RULE}:show")
    check_query(request, ("with_servers",), strict=at_least(request, "2.53"))
    hypervisor_id = _hypervisor_id(request)
    async with reading(request) as session:
        found = await service_admin.get_hypervisor(session, hypervisor_id)
        shown = await _view(
            request, session, found, detail=True, with_servers=_with_servers(request)
        )
    return json_response({"hypervisor": shown})


async def hypervisor_uptime(request: Request) -> Response:
    """Until 2.87: the brief view plus ``uptime`` (see service_admin.uptime)."""
    authorize(request, f"{RULE}:uptime")
    hypervisor_id = _hypervisor_id(request)
    async with reading(request) as session:
        found = await service_admin.get_hypervisor(session, hypervisor_id)
        shown = await _view(request, session, found, detail=False)
    return json_response({"hypervisor": {**shown, "uptime": service_admin.uptime(found)}})


async def _search(request: Request, *, servers: bool) -> Response:
    async with reading(request) as session:
        found = await service_admin.list_hypervisors(
            session, pattern=request.path_params["pattern"]
        )
        items = [
            await _view(request, session, hyp, detail=False, with_servers=servers) for hyp in found
        ]
    return json_response({"hypervisors": items})


async def search_hypervisors(request: Request) -> Response:
    """Until 2.52: hypervisors whose hostname contains the pattern."""
    authorize(request, f"{RULE}:search")
    return await _search(request, servers=False)


async def hypervisor_servers(request: Request) -> Response:
    """Until 2.52: the same, with each one's servers."""
    authorize(request, f"{RULE}:servers")
    return await _search(request, servers=True)


async def statistics(request: Request) -> Response:
    """Until 2.87: totals over the enabled compute services' nodes."""
    authorize(request, f"{RULE}:statistics")
    async with reading(request) as session:
        totals = await service_admin.statistics(session)
    return json_response({"hypervisor_statistics": totals})
