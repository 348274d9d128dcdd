"""Version discovery: what keystoneauth reads before anything else."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, public
from nimbus.api.common.handler import base_url

VERSION = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": VERSION,
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base_url(request)}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


@public
async def list_versions(request: Request) -> Response:
    return json_response({"versions": {"values": [_version(request)]}}, status=300)


@public
async def show_version(request: Request) -> Response:
    return json_response({"version": _version(request)})
