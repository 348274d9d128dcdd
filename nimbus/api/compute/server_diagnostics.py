"""GET /servers/{id}/diagnostics: an admin's view of the guest's hypervisor counters.

No compute driver reports diagnostics yet, so after the lookup and the admin check
(a member gets 403, a missing server 404, as upstream) the answer is Nova's 501 for a
driver without them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.compute import common
from nimbus.api.compute.server_common import server_of
from nimbus.errors import NotSupported


async def show_diagnostics(request: Request) -> Response:
    uuid = request.path_params["server_id"]
    async with common.reading(request) as session:
        await server_of(session, request, uuid, "os_compute_api:os-server-diagnostics")
    raise NotSupported("The requested functionality is not supported.")
