"""Who may use a private flavor: GET /flavors/{id}/os-flavor-access and the
addTenantAccess / removeTenantAccess actions (admins only by default)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas
from nimbus.api.compute.common import at_least, authorize, parse, reading, writing
from nimbus.api.compute.flavors import viewer
from nimbus.compute import flavors, identity
from nimbus.db.models.compute import Flavor
from nimbus.errors import NotFound

ACCESS = "os_compute_api:os-flavor-access"


async def _body(session: AsyncSession, flavor: Flavor) -> dict[str, Any]:
    projects = await flavors.access_list(session, flavor)
    return {"flavor_access": [{"flavor_id": flavor.flavorid, "tenant_id": p} for p in projects]}


async def list_access(request: Request) -> Response:
    authorize(request, ACCESS)
    async with reading(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        return json_response(await _body(session, flavor))


async def add_tenant_access(request: Request) -> Response:
    authorize(request, f"{ACCESS}:add_tenant_access")
    tenant = (await parse(request, schemas.AddTenantAccess)).add.tenant
    async with writing(request) as session:
        await identity.verify_project(session, tenant)
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        await flavors.add_access(session, flavor, tenant, refuse_public=at_least(request, "2.7"))
        return json_response(await _body(session, flavor))


async def remove_tenant_access(request: Request) -> Response:
    """The project need not exist any more: its row can go either way."""
    authorize(request, f"{ACCESS}:remove_tenant_access")
    tenant = (await parse(request, schemas.RemoveTenantAccess)).remove.tenant
    async with writing(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        await flavors.remove_access(session, flavor, tenant)
        return json_response(await _body(session, flavor))
