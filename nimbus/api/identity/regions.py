"""/v3/regions: POST picks an id (or takes the body's), PUT /v3/regions/{id} names it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, db
from nimbus.api.identity import views
from nimbus.api.identity.resource import Kind
from nimbus.api.identity.schemas import (
    RegionCreate,
    RegionCreateBody,
    RegionUpdate,
    RegionUpdateBody,
    apply_changes,
    split_extra,
)
from nimbus.db.base import new_id
from nimbus.db.models.identity import Region
from nimbus.errors import BadRequest
from nimbus.identity import catalog

COLUMNS = {"id", "description", "parent_region_id"}
REGION = Kind("region", catalog.get_region, views.region)


async def list_regions(request: Request) -> Response:
    authorize(request, "identity:list_regions")
    async with db(request).reader() as session:
        rows = await catalog.list_regions(
            session, parent_region_id=request.query_params.get("parent_region_id")
        )
    return REGION.listing(request, rows)


async def _create(request: Request, body: RegionCreate, region_id: str) -> Response:
    authorize(request, "identity:create_region")
    _, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    async with db(request).transaction() as session:
        row = await catalog.create_region(
            session,
            id=region_id,
            parent_region_id=body.parent_region_id,
            description=body.description or "",
            extra=extra,
        )
    return REGION.respond(request, row, status=201)


async def create_region(request: Request) -> Response:
    body = (await parse(request, RegionCreateBody)).region
    return await _create(request, body, body.id or new_id())


async def create_region_with_id(request: Request) -> Response:
    body = (await parse(request, RegionCreateBody)).region
    region_id = request.path_params["region_id"]
    if body.id is not None and body.id != region_id:
        raise BadRequest(f'Conflicting region IDs specified: "{region_id}" != "{body.id}"')
    return await _create(request, body, region_id)


show_region = REGION.show


async def _change(session: AsyncSession, row: Region, body: RegionUpdate) -> None:
    if "parent_region_id" in body.model_fields_set:
        await catalog.set_parent_region(session, row, body.parent_region_id)
    apply_changes(row, body, COLUMNS, skip=frozenset({"parent_region_id"}))


async def update_region(request: Request) -> Response:
    return await REGION.update(request, RegionUpdateBody, _change)


async def delete_region(request: Request) -> Response:
    """Delete a region with its child regions; one with endpoints anywhere below is a 403."""
    return await REGION.delete(request, catalog.delete_region)
