"""Version discovery: ``GET /`` lists the major versions, ``GET /v2.1`` describes the
one this cloud serves with its microversion range (what keystoneauth and novaclient read
before anything else). Both answer without a token, as upstream."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, public
from nimbus.api.compute.common import API_ROOT, VERSIONS, base_url

#: The legacy v2.0 entry upstream still lists; Nimbus serves only v2.1 (see
#: docs/compute-api.md), so it is listed as upstream lists it and never linked further.
_V20 = {
    "id": "v2.0",
    "status": "SUPPORTED",
    "version": "",
    "min_version": "",
    "updated": "2011-01-21T11:33:21Z",
    "path": "/v2/",
}
_V21 = {
    "id": "v2.1",
    "status": "CURRENT",
    "version": str(VERSIONS.maximum),
    "min_version": str(VERSIONS.minimum),
    "updated": "2013-07-23T11:33:21Z",
    "path": f"{API_ROOT}/",
}


def _document(request: Request, version: dict[str, str]) -> dict[str, Any]:
    fields = {k: v for k, v in version.items() if k != "path"}
    return {**fields, "links": [{"rel": "self", "href": base_url(request) + version["path"]}]}


@public
async def list_versions(request: Request) -> Response:
    """200, as upstream answers for the root (300 is only for unknown version paths)."""
    return json_response({"versions": [_document(request, _V20), _document(request, _V21)]})


@public
async def show_version(request: Request) -> Response:
    document = _document(request, _V21)
    document["links"].append(
        {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
    )
    document["media-types"] = [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}
    ]
    return json_response({"version": document})
