"""What every handler of the servers family shares: the caller as the domain sees
it, finding a server the caller may see, and sending a cast after the commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common import handler
from nimbus.api.compute import common
from nimbus.compute import hosts, instances
from nimbus.compute.boot import Who
from nimbus.compute.lifecycle import Cast
from nimbus.compute.placement_client import LocalPlacement
from nimbus.db.models.cell import Instance, Service
from nimbus.errors import BadRequest


def who(request: Request) -> Who:
    context = common.caller(request)
    return Who(
        project_id=context.project_id or "",
        user_id=context.user_id,
        request_id=request.state.request_id,
        is_admin=context.is_admin,
    )


async def server_of(
    session: AsyncSession, request: Request, uuid: str, rule: str | None = None
) -> Instance:
    """The live server `uuid` if the caller may see it (another project's is a 404
    unless the caller is an admin), after checking `rule` against its owner."""
    context = common.caller(request)
    project = None if context.is_admin else context.project_id
    try:
        server = await instances.get(session, uuid, project_id=project)
    except instances.InstanceNotFound:
        raise instances.InstanceNotFound(uuid) from None
    if rule:
        common.authorize(request, rule, project_id=server.project_id, user_id=server.user_id)
    return server


async def send(request: Request, cast: Cast | None) -> None:
    if cast is not None:
        await request.app.state.bus.cast(cast.topic, cast.method, server=cast.server, **cast.kwargs)


def fast_json(body: Any) -> Response:
    """The compact UTF-8 JSON of `json_response`, written by orjson: a list of a
    thousand servers encodes several times faster."""
    return Response(orjson.dumps(body), media_type="application/json")


def placement(request: Request) -> LocalPlacement:
    return LocalPlacement(handler.db(request))


async def host_up(session: AsyncSession, request: Request, host: str | None) -> bool:
    """Whether the compute service of `host` is alive (a dead host's servers are
    deleted here, as Nova's local delete)."""
    if not host:
        return False
    service = await session.scalar(
        select(Service).where(Service.host == host, Service.binary == hosts.COMPUTE)
    )
    return service is not None and hosts.is_up(service, request.app.state.service_down_time)


def moment_param(request: Request, name: str) -> datetime | None:
    """A time filter of the query string (changes-since…), naive taken as UTC."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid filter field: {name}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: Body fields of an update or rebuild → the instance columns they set.
_COLUMNS = {
    "name": "display_name",
    "description": "display_description",
    "accessIPv4": "access_ip_v4",
    "accessIPv6": "access_ip_v6",
    "hostname": "hostname",
    "user_data": "user_data",
}
#: Fields that may not be set to null (name and hostname only change, never clear).
_NOT_NULL = frozenset({"name", "hostname"})


def column_updates(given: dict[str, Any], parsed: Any) -> dict[str, Any]:
    """The instance columns a (validated) update or rebuild body changes."""
    updates = {}
    for field, column in _COLUMNS.items():
        if field in given and hasattr(parsed, field):
            value = getattr(parsed, field)
            if value is not None or field not in _NOT_NULL:
                updates[column] = value
    return updates
