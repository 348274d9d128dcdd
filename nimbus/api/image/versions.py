"""Version discovery: the unversioned endpoint in the catalog answers with the list.

The list is the one Glance gives without the image cache or multiple stores enabled
(neither exists here): v2.17 current, and the older versions still accepted.
keystoneauth picks the highest v2.x and talks to its href, the service's /v2/.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, public
from nimbus.api.common.handler import base_url

CURRENT = "2.17"
SUPPORTED = ("2.15", "2.9", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")


def _versions(request: Request) -> dict[str, Any]:
    href = f"{base_url(request)}/v2/"

    def version(number: str, status: str) -> dict[str, Any]:
        return {"id": f"v{number}", "status": status, "links": [{"rel": "self", "href": href}]}

    return {
        "versions": [
            version(CURRENT, "CURRENT"),
            *(version(number, "SUPPORTED") for number in SUPPORTED),
        ]
    }


@public
async def list_versions(request: Request) -> Response:
    """GET /: 300 Multiple Choices, as Glance answers."""
    return json_response(_versions(request), status=300)


@public
async def show_versions(request: Request) -> Response:
    """GET /versions: the same list, asked for explicitly, so 200."""
    return json_response(_versions(request))
