"""The legacy os-hosts API (up to 2.42; upstream replaced it by os-services and
os-hypervisors): list the hosts of the RPC services with their zones, show what a
compute host holds, enable or disable a compute host. Admins only.

Maintenance mode and host power actions (startup, shutdown, reboot) go to the
hypervisor driver upstream, and no driver here offers them: after the admin check
and the host lookup they answer 501, as Nova does for drivers without them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.common.microversion import Handler
from nimbus.api.compute import schemas
from nimbus.api.compute.common import authorize, parse, reading, writing
from nimbus.compute import host_usage, zones
from nimbus.errors import BadRequest, NotSupported

RULE = "os_compute_api:os-hosts"
_UNSUPPORTED = "The requested functionality is not supported."


async def list_hosts(request: Request) -> Response:
    """Enabled services only, optionally in one zone (an empty zone means any)."""
    authorize(request, f"{RULE}:list")
    zone = request.query_params.get("zone")
    async with reading(request) as session:
        services = await zones.all_services(session)
    hosts = [
        {"host_name": s.service.host, "service": s.service.topic or "", "zone": s.zone}
        for s in services
        if not s.service.disabled and (not zone or s.zone == zone)
    ]
    return json_response({"hosts": hosts})


async def show_host(request: Request) -> Response:
    authorize(request, f"{RULE}:show")
    host = request.path_params["host"]
    async with reading(request) as session:
        usage = await host_usage.host_usage(session, host)
    return json_response(
        {
            "host": [
                {
                    "resource": {
                        "host": host,
                        "project": line.project,
                        "cpu": line.cpu,
                        "memory_mb": line.memory_mb,
                        "disk_gb": line.disk_gb,
                    }
                }
                for line in usage
            ]
        }
    )


async def update_host(request: Request) -> Response:
    """`status` enables or disables the host's compute service (new servers go
    elsewhere); `maintenance_mode` needs a driver that has it (501)."""
    body = await parse(request, schemas.HostUpdate)
    authorize(request, f"{RULE}:update")
    if body.status is None and body.maintenance_mode is None:
        raise BadRequest("'status' or 'maintenance_mode' is required.")
    host = request.path_params["host"]
    async with writing(request) as session:
        service = await host_usage.compute_service(session, host)
        if body.maintenance_mode is not None or body.status is None:
            raise NotSupported(_UNSUPPORTED)
        service.disabled = body.status.lower() == "disable"
        service.disabled_reason = None
    return json_response({"host": host, "status": "disabled" if service.disabled else "enabled"})


def _power_action(rule: str) -> Handler:
    """A host power action: admin check, host lookup, then 501 (see the docstring)."""

    async def handler(request: Request) -> Response:
        authorize(request, f"{RULE}:{rule}")
        async with reading(request) as session:
            await host_usage.compute_service(session, request.path_params["host"])
        raise NotSupported(_UNSUPPORTED)

    return handler


startup_host = _power_action("start")
shutdown_host = _power_action("shutdown")
reboot_host = _power_action("reboot")
