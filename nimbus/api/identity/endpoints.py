"""/v3/endpoints: a service's URL per interface and region."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.handler import authorize, db
from nimbus.api.identity import views
from nimbus.api.identity.resource import Kind
from nimbus.api.identity.schemas import (
    EndpointCreate,
    EndpointCreateBody,
    EndpointFields,
    EndpointUpdate,
    EndpointUpdateBody,
    apply_changes,
    split_extra,
)
from nimbus.db.models.identity import Endpoint
from nimbus.identity import catalog

COLUMNS = {"interface", "url", "service_id", "region_id", "enabled", "region"}
ENDPOINT = Kind("endpoint", catalog.get_endpoint, views.endpoint)


async def list_endpoints(request: Request) -> Response:
    query = request.query_params
    authorize(request, "identity:list_endpoints")
    async with db(request).reader() as session:
        rows = await catalog.list_endpoints(
            session,
            service_id=query.get("service_id"),
            interface=query.get("interface"),
            region_id=query.get("region_id"),
        )
    return ENDPOINT.listing(request, rows)


async def _region_id(session: AsyncSession, body: EndpointFields) -> str | None:
    """region_id, or the legacy `region` (created on first use, as upstream does)."""
    if body.region_id is None and body.region is not None:
        await catalog.ensure_region(session, body.region)
        return body.region
    return body.region_id


async def _make(session: AsyncSession, body: EndpointCreate) -> Endpoint:
    known, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    return await catalog.create_endpoint(
        session,
        service_id=body.service_id,
        region_id=await _region_id(session, body),
        interface=body.interface,
        url=body.url,
        enabled=known.get("enabled", True),
        extra=extra,
    )


async def create_endpoint(request: Request) -> Response:
    return await ENDPOINT.create(request, EndpointCreateBody, _make)


show_endpoint = ENDPOINT.show


async def _change(session: AsyncSession, row: Endpoint, body: EndpointUpdate) -> None:
    region_id = await _region_id(session, body)
    await catalog.check_endpoint_refs(session, service_id=body.service_id, region_id=region_id)
    apply_changes(row, body, COLUMNS, skip=frozenset({"region", "region_id"}))
    if {"region", "region_id"} & body.model_fields_set:
        row.region_id = region_id


async def update_endpoint(request: Request) -> Response:
    return await ENDPOINT.update(request, EndpointUpdateBody, _change)


async def delete_endpoint(request: Request) -> Response:
    return await ENDPOINT.delete(request, catalog.delete_endpoint)
