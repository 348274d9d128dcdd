"""Nova's floating IP proxy: /os-floating-ips and /os-floating-ip-pools (up to 2.35,
404 after), and the addFloatingIp/removeFloatingIp server actions (up to 2.43).

Thin handlers over nimbus.compute.floating_ip_proxy. Allocation answers 200 and
release 202, as in Nova.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas
from nimbus.api.compute.common import at_least, authorize, body_of, reading, validate
from nimbus.api.compute.network_proxy import options, scope, write
from nimbus.compute import floating_ip_proxy as proxy
from nimbus.compute.boot import Who
from nimbus.db.models.cell import Instance
from nimbus.errors import NotFound

RULE = "os_compute_api:os-floating-ips"


async def list_floating_ips(request: Request) -> Response:
    authorize(request, f"{RULE}:list")
    async with reading(request) as session:
        rows = await proxy.list_for_project(session, scope(request).project_id)
        return json_response({"floating_ips": await proxy.documents(session, rows)})


async def show_floating_ip(request: Request) -> Response:
    authorize(request, f"{RULE}:show")
    async with reading(request) as session:
        row = await proxy.get(session, scope(request), request.path_params["id"])
        (document,) = await proxy.documents(session, [row])
    return json_response({"floating_ip": document})


async def allocate(request: Request) -> Response:
    """POST /os-floating-ips, with an optional body naming the pool."""
    authorize(request, f"{RULE}:create")
    given = await body_of(request) if await request.body() else None
    pool = validate(schemas.FloatingIpCreate, given).pool if given is not None else None

    async def work(session: AsyncSession) -> dict:
        row = await proxy.allocate(session, scope(request), options(request), pool)
        (document,) = await proxy.documents(session, [row])
        return document

    return json_response({"floating_ip": await write(request, work)})


async def release(request: Request) -> Response:
    authorize(request, f"{RULE}:delete")

    async def work(session: AsyncSession) -> None:
        await proxy.release(session, scope(request), request.path_params["id"])

    await write(request, work)
    return Response(status_code=202)


def _until_243(request: Request) -> None:
    """The actions are gone from 2.44 (404, as a removed method of Nova's)."""
    if at_least(request, "2.44"):
        raise NotFound("The resource could not be found.")


async def add_floating_ip(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> None:
    """The addFloatingIp server action (run by nimbus.api.compute.server_actions)."""
    _until_243(request)
    given = validate(schemas.FloatingIpAddress, body)
    await proxy.associate(session, scope(request), server.uuid, given.address, given.fixed_address)


async def remove_floating_ip(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> None:
    """The removeFloatingIp server action."""
    _until_243(request)
    given = validate(schemas.RemovedAddress, body)
    await proxy.disassociate(session, scope(request), server.uuid, given.address)


async def list_pools(request: Request) -> Response:
    authorize(request, "os_compute_api:os-floating-ip-pools")
    async with reading(request) as session:
        rows = await proxy.pools(session, scope(request))
    return json_response({"floating_ip_pools": [{"name": row.name or row.id} for row in rows]})


#: The server actions of this proxy, merged into nimbus.api.compute.server_actions.
ACTIONS = {
    "addFloatingIp": (f"{RULE}:add", add_floating_ip),
    "removeFloatingIp": (f"{RULE}:remove", remove_floating_ip),
}
