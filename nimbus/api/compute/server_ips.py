"""GET /servers/{id}/ips and /servers/{id}/ips/{network}: a server's addresses by
network label, the same ones its `addresses` field shows."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import common
from nimbus.api.compute.server_common import server_of
from nimbus.api.compute.servers import render
from nimbus.errors import NotFound

RULE = "os_compute_api:ips"


async def _addresses(request: Request, rule: str) -> dict[str, list[dict[str, object]]]:
    uuid = request.path_params["server_id"]
    async with common.reading(request) as session:
        await server_of(session, request, uuid, f"{RULE}:{rule}")
    return (await render(request, uuid))["server"]["addresses"]


async def list_ips(request: Request) -> Response:
    return json_response({"addresses": await _addresses(request, "index")})


async def show_ips(request: Request) -> Response:
    network = request.path_params["network"]
    addresses = await _addresses(request, "show")
    if network not in addresses:
        raise NotFound("Instance is not a member of specified network")
    return json_response({network: addresses[network]})
