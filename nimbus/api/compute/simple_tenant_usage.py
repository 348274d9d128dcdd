"""GET /os-simple-tenant-usage (every project; admins) and
/os-simple-tenant-usage/{project_id} (a project's readers too): server hours and
resource-hours over ``start``..``end`` (default: now), see nimbus.compute.tenant_usage.

Deviation: the 2.40 paging (``limit``/``marker``, ``tenant_usages_links``) is not
offered; every project and server of the period is listed.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute.common import authorize, reading
from nimbus.compute import tenant_usage
from nimbus.db.base import utcnow
from nimbus.errors import BadRequest

RULE = "os_compute_api:os-simple-tenant-usage"
#: The layouts Nova parses ``start`` and ``end`` with.
_LAYOUTS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _moment(text: str | None) -> datetime:
    if not text:
        return utcnow().replace(tzinfo=None)
    for layout in _LAYOUTS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    raise BadRequest("Datetime is in invalid format")


def _period(request: Request) -> tuple[datetime, datetime]:
    start = _moment(request.query_params.get("start"))
    stop = _moment(request.query_params.get("end"))
    if not start < stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return start, stop


def _time(moment: datetime | None) -> str | None:
    """Nova renders these straight from datetimes: microseconds, no zone."""
    return moment.isoformat(timespec="microseconds") if moment else None


def _shown(usage: tenant_usage.TenantUsage, detailed: bool) -> dict[str, Any]:
    body = asdict(usage)
    body["start"], body["stop"] = _time(usage.start), _time(usage.stop)
    if detailed:
        for line in body["server_usages"]:
            line["started_at"], line["ended_at"] = (
                _time(line["started_at"]),
                _time(line["ended_at"]),
            )
    else:
        del body["server_usages"]
    return body


async def list_usages(request: Request) -> Response:
    authorize(request, f"{RULE}:list")
    start, stop = _period(request)
    detailed = request.query_params.get("detailed") == "1"
    async with reading(request) as session:
        found = await tenant_usage.usage(session, start, stop)
    return json_response({"tenant_usages": [_shown(u, detailed) for u in found.values()]})


async def show_usage(request: Request) -> Response:
    """A project without servers in the period gets an empty object, as upstream."""
    project_id = request.path_params["project_id"]
    authorize(request, f"{RULE}:show", project_id=project_id)
    start, stop = _period(request)
    async with reading(request) as session:
        found = await tenant_usage.usage(session, start, stop, project_id)
    usage = found.get(project_id)
    return json_response({"tenant_usage": _shown(usage, True) if usage else {}})
