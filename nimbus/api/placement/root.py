"""GET /: the version document keystoneauth reads to learn the microversion range."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import public
from nimbus.api.placement.common import VERSIONS, respond


@public
async def home(request: Request) -> Response:
    """Only one major version exists, so it is CURRENT; its link is relative, as upstream."""
    minimum = str(VERSIONS.minimum)
    document = {
        "id": f"v{minimum}",
        "min_version": minimum,
        "max_version": str(VERSIONS.maximum),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }
    return respond(request, {"versions": [document]})
