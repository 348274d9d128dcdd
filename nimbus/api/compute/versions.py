"""Version discovery: ``GET /`` lists the major versions, ``GET /v2.1`` describes the
one this cloud serves with its microversion range (what keystoneauth and novaclient read
before anything else), ``GET /v2`` the legacy one. All answer without a token, as
upstream."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, public
from nimbus.api.common.microversion import Handler
from nimbus.api.compute.common import API_ROOT, VERSIONS, base_url

#: The legacy v2.0 entry upstream still lists. Nimbus serves only v2.1 (see
#: docs/compute-api.md) but, as upstream, answers the version document each listed
#: self link points to (clients and Tempest follow every one).
_V20 = {
    "id": "v2.0",
    "status": "SUPPORTED",
    "version": "",
    "min_version": "",
    "updated": "2011-01-21T11:33:21Z",
    "path": "/v2/",
    "media_type": "application/vnd.openstack.compute+json;version=2",
}
_V21 = {
    "id": "v2.1",
    "status": "CURRENT",
    "version": str(VERSIONS.maximum),
    "min_version": str(VERSIONS.minimum),
    "updated": "2013-07-23T11:33:21Z",
    "path": f"{API_ROOT}/",
    "media_type": "application/vnd.openstack.compute+json;version=2.1",
}


def _document(request: Request, version: dict[str, str]) -> dict[str, Any]:
    fields = {k: v for k, v in version.items() if k not in ("path", "media_type")}
    return {**fields, "links": [{"rel": "self", "href": base_url(request) + version["path"]}]}


@public
async def list_versions(request: Request) -> Response:
    """200, as upstream answers for the root (300 is only for unknown version paths)."""
    return json_response({"versions": [_document(request, _V20), _document(request, _V21)]})


def _show(version: dict[str, str]) -> Handler:
    """The handler of one version's document."""

    @public
    async def show(request: Request) -> Response:
        document = _document(request, version)
        document["links"].append(
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        )
        document["media-types"] = [{"base": "application/json", "type": version["media_type"]}]
        return json_response({"version": document})

    return show


show_version = _show(_V21)
show_legacy_version = _show(_V20)
