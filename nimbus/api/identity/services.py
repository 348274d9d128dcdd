"""/v3/services: catalog entries; name and description live among the extras."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.handler import authorize, db
from nimbus.api.identity import views
from nimbus.api.identity.resource import Kind
from nimbus.api.identity.schemas import (
    ServiceCreate,
    ServiceCreateBody,
    ServiceUpdate,
    ServiceUpdateBody,
    apply_changes,
    split_extra,
)
from nimbus.db.models.identity import Service
from nimbus.identity import catalog

COLUMNS = {"type", "enabled"}
SERVICE = Kind("service", catalog.get_service, views.service)


async def list_services(request: Request) -> Response:
    authorize(request, "identity:list_services")
    async with db(request).reader() as session:
        rows = await catalog.list_services(
            session, type=request.query_params.get("type"), name=request.query_params.get("name")
        )
    return SERVICE.listing(request, rows)


async def _make(session: AsyncSession, body: ServiceCreate) -> Service:
    known, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    return await catalog.create_service(
        session, type=body.type, enabled=known.get("enabled", True), extra={"name": "", **extra}
    )


async def create_service(request: Request) -> Response:
    return await SERVICE.create(request, ServiceCreateBody, _make)


show_service = SERVICE.show


async def _change(session: AsyncSession, row: Service, body: ServiceUpdate) -> None:
    apply_changes(row, body, COLUMNS)


async def update_service(request: Request) -> Response:
    return await SERVICE.update(request, ServiceUpdateBody, _change)


async def delete_service(request: Request) -> Response:
    """Delete a service and its endpoints."""
    return await SERVICE.delete(request, catalog.delete_service)
