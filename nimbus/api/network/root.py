"""Discovery: GET / (versions), GET /v2.0/ (resources), extensions and zones."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, public
from nimbus.api.common.handler import base_url
from nimbus.api.network import listing
from nimbus.api.network.views import ZONE
from nimbus.network import errors

API_ROOT = "/v2.0"
#: Collections listed by GET /v2.0/ (resource name, collection).
RESOURCES = (
    ("network", "networks"),
    ("subnet", "subnets"),
    ("subnetpool", "subnetpools"),
    ("port", "ports"),
    ("router", "routers"),
    ("floatingip", "floatingips"),
    ("security_group", "security-groups"),
    ("security_group_rule", "security-group-rules"),
    ("quota", "quotas"),
    ("extension", "extensions"),
    ("availability_zone", "availability_zones"),
)
UPDATED = "2024-01-01T00:00:00-00:00"
#: alias → name of the extensions this API implements (descriptions are the names:
#: clients look extensions up by alias only).
EXTENSIONS = {
    "allowed-address-pairs": "Allowed Address Pairs",
    "availability_zone": "Availability Zone",
    "network_availability_zone": "Network Availability Zone",
    "router_availability_zone": "Router Availability Zone",
    "binding": "Port Binding",
    "empty-string-filtering": "Empty String Filtering Extension",
    "external-net": "Neutron external network",
    "extraroute": "Neutron Extra Route",
    "ip-substring-filtering": "IP address substring filtering",
    "ext-gw-mode": "Neutron L3 Configurable external gateway mode",
    "net-mtu": "Network MTU",
    "pagination": "Pagination support",
    "port-security": "Port Security",
    "project-id": "project_id field enabled",
    "provider": "Provider Network",
    "quotas": "Quota management support",
    "quota_details": "Quota details management support",
    "router": "Neutron L3 Router",
    "security-group": "security-group",
    "sorting": "Sorting support",
    "standard-attr-description": "standard-attr-description",
    "standard-attr-revisions": "Resource revision numbers",
    "standard-attr-tag": "Tag support for resources with standard attribute",
    "standard-attr-timestamp": "Resource timestamps",
    "stateful-security-group": "Stateful security group",
    "subnet_allocation": "Subnet Allocation",
    "default-subnetpools": "Default Subnetpools",
    "tag-ports-during-bulk-creation": "Tag Ports During Bulk Creation",
}


@public
async def versions(request: Request) -> Response:
    link = {"href": f"{base_url(request)}{API_ROOT}/", "rel": "self"}
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [link]}]})


async def resources(request: Request) -> Response:
    base = f"{base_url(request)}{API_ROOT}"
    body = [
        {
            "name": name,
            "collection": collection,
            "links": [{"href": f"{base}/{collection}", "rel": "self"}],
        }
        for name, collection in RESOURCES
    ]
    return json_response({"resources": body})


def _extension(alias: str) -> dict[str, object]:
    return {
        "alias": alias,
        "name": EXTENSIONS[alias],
        "description": EXTENSIONS[alias],
        "updated": UPDATED,
        "links": [],
    }


async def list_extensions(request: Request) -> Response:
    return listing.respond(request, "extensions", [_extension(a) for a in sorted(EXTENSIONS)])


async def show_extension(request: Request) -> Response:
    alias = request.path_params["alias"]
    if alias not in EXTENSIONS:
        raise errors.ExtensionNotFound(extension_alias=alias)
    return json_response({"extension": _extension(alias)})


async def list_agents(request: Request) -> Response:
    """No agent reports to this control plane yet, so the list is empty (as upstream's
    is for a non-admin)."""
    return listing.respond(request, "agents", [])


async def list_zones(request: Request) -> Response:
    zones = [
        {"name": ZONE, "resource": resource, "state": "available"}
        for resource in ("network", "router")
    ]
    return listing.respond(request, "availability_zones", zones)
