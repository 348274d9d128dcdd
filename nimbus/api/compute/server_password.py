"""GET/DELETE /servers/{id}/os-server-password: the password a guest posted (encrypted
with the server's key pair) to the metadata service, kept in the server's system
metadata under "password"; "" until one is posted. Clearing it forgets it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import common
from nimbus.api.compute.server_common import server_of
from nimbus.compute import instances

RULE = "os_compute_api:os-server-password"
#: The system metadata key of the posted password.
KEY = "password"


async def show_password(request: Request) -> Response:
    uuid = request.path_params["server_id"]
    async with common.reading(request) as session:
        server = await server_of(session, request, uuid, f"{RULE}:show")
    return json_response({"password": (server.system_metadata or {}).get(KEY, "")})


async def clear_password(request: Request) -> Response:
    uuid = request.path_params["server_id"]
    async with common.writing(request) as session:
        server = await server_of(session, request, uuid, f"{RULE}:clear")
        meta = dict(server.system_metadata or {})
        if meta.pop(KEY, None) is not None:
            await instances.transition(session, uuid, {"system_metadata": meta})
    return Response(status_code=204)
