"""GET /os-instance_usage_audit_log[/{before}]: the instance usage audit report of the
last completed period (see nimbus.compute.usage_audit). Admins only."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute.common import authorize, reading
from nimbus.compute.usage_audit import audit_report
from nimbus.errors import BadRequest

RULE = "os_compute_api:os-instance-usage-audit-log"


async def list_audit_logs(request: Request) -> Response:
    authorize(request, f"{RULE}:list")
    async with reading(request) as session:
        return json_response({"instance_usage_audit_logs": await audit_report(session)})


async def show_audit_log(request: Request) -> Response:
    """The report of the last period completed before a "YYYY-MM-DD HH:MM:SS[.ffffff]"
    moment (400 for anything else)."""
    authorize(request, f"{RULE}:show")
    text = request.path_params["before"]
    layout = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    try:
        before = datetime.strptime(text, layout)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {text}") from None
    async with reading(request) as session:
        return json_response({"instance_usage_audit_log": await audit_report(session, before)})
