"""Nova's network proxies: /os-networks and /os-tenant-networks (list and show up to
2.35, 404 after) over the Neutron domain.

Since nova-network's removal these show only what Neutron can tell: an id and a
label (the network's name); os-networks lists the other nova-network fields as null
(and its admin-only ones too, for an admin), os-tenant-networks a `cidr` of "None",
as Nova does with Neutron. Creating, deleting or associating networks through Nova
was nova-network's: 410 Gone at every version.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute.common import authorize, caller, reading
from nimbus.api.compute.network_proxy import scope
from nimbus.db.models.network import Network
from nimbus.errors import NimbusError, NotFound
from nimbus.network import errors, networks

#: The fields of nova-network's view, and those only an admin saw.
_FIELDS = (
    "id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6",
    "gateway_v6", "label", "netmask_v6",
)  # fmt: skip
_ADMIN_FIELDS = (
    "created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
    "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start",
    "project_id", "host", "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu",
    "dhcp_server", "enable_dhcp", "share_address",
)  # fmt: skip


class Gone(NimbusError):
    code = 410
    title = "Gone"


def _network(row: Network, admin: bool) -> dict[str, Any]:
    fields = _FIELDS + _ADMIN_FIELDS if admin else _FIELDS
    shown: dict[str, Any] = dict.fromkeys(fields)
    shown.update(id=row.id, label=row.name)
    return shown


def _tenant_network(row: Network) -> dict[str, Any]:
    return {"id": row.id, "cidr": "None", "label": row.name}


async def _visible(request: Request) -> list[Network]:
    async with reading(request) as session:
        return await networks.listing(session, scope(request))


async def _one(request: Request) -> Network:
    async with reading(request) as session:
        try:
            return await networks.get(session, scope(request), request.path_params["id"])
        except errors.NetworkNotFound:
            raise NotFound("Network not found") from None


async def list_networks(request: Request) -> Response:
    authorize(request, "os_compute_api:os-networks:list")
    admin = caller(request).is_admin
    return json_response({"networks": [_network(n, admin) for n in await _visible(request)]})


async def show_network(request: Request) -> Response:
    authorize(request, "os_compute_api:os-networks:show")
    return json_response({"network": _network(await _one(request), caller(request).is_admin)})


async def list_tenant_networks(request: Request) -> Response:
    authorize(request, "os_compute_api:os-tenant-networks:list")
    return json_response({"networks": [_tenant_network(n) for n in await _visible(request)]})


async def show_tenant_network(request: Request) -> Response:
    authorize(request, "os_compute_api:os-tenant-networks:show")
    return json_response({"network": _tenant_network(await _one(request))})


async def gone(request: Request) -> Response:
    """nova-network's create, delete, add and disassociate."""
    raise Gone("This API only works with nova-network, which was removed in 21.0.0 (Ussuri).")
