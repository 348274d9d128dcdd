"""Availability zones: /os-availability-zone (anyone: the zones to boot into) and
/os-availability-zone/detail (admins: the hosts and services of each zone)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute.common import authorize, reading
from nimbus.api.compute.views import dbtime
from nimbus.compute import zones
from nimbus.compute.hosts import is_up

RULE = "os_compute_api:os-availability-zone"


def _zone(name: str, available: bool, hosts: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"zoneName": name, "zoneState": {"available": available}, "hosts": hosts}


async def list_zones(request: Request) -> Response:
    """The internal zone (where non-compute services live) is not shown here."""
    authorize(request, f"{RULE}:list")
    async with reading(request) as session:
        available, unavailable = zones.split(await zones.all_services(session))
    body = [_zone(z, True) for z in available if z != zones.INTERNAL_ZONE]
    body += [_zone(z, False) for z in unavailable if z != zones.INTERNAL_ZONE]
    return json_response({"availabilityZoneInfo": body})


async def list_zones_detail(request: Request) -> Response:
    """Each available zone's hosts and their enabled services' states."""
    authorize(request, f"{RULE}:detail")
    down_time = request.app.state.service_down_time
    async with reading(request) as session:
        services = await zones.all_services(session)
    available, unavailable = zones.split(services)
    hosts: dict[str, dict[str, dict[str, Any]]] = {}
    for zoned in services:
        service = zoned.service
        if service.disabled:
            continue
        hosts.setdefault(zoned.zone, {}).setdefault(service.host, {})[service.binary] = {
            "available": is_up(service, down_time),
            "active": not service.disabled,
            "updated_at": dbtime(service.updated_at),
        }
    body = [_zone(z, True, hosts.get(z, {})) for z in available]
    body += [_zone(z, False) for z in unavailable]
    return json_response({"availabilityZoneInfo": body})
