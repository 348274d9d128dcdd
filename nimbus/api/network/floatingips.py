"""/v2.0/floatingips and /v2.0/floatingips/{id}."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.network import schemas, views
from nimbus.api.network.common import (
    authorize,
    options,
    owner,
    scope,
    set_fields,
    target,
)
from nimbus.api.network.resource import Maker, Resource, each
from nimbus.db.models.network import FloatingIp
from nimbus.network import errors, floatingips

FLOATINGIP = Resource(
    name="floatingip",
    get=floatingips.get,
    rows=floatingips.listing,
    remove=lambda session, _scope, row: floatingips.delete_floatingip(session, row),
    documents=each(views.floatingip),
    missing=lambda fip_id: errors.FloatingIPNotFound(floatingip_id=fip_id),
)


async def create_floatingip(request: Request) -> Response:
    def prepare(body: schemas.FloatingIpCreate) -> Maker[FloatingIp]:
        project_id = owner(request, body)
        policy = target(project_id)
        authorize(request, "create_floatingip", policy)
        if body.floating_ip_address:
            authorize(request, "create_floatingip:floating_ip_address", policy)
        given = {k: v for k, v in set_fields(body).items() if k not in ("project_id", "tenant_id")}
        return lambda session: floatingips.create(
            session, scope(request), options(request), project_id=project_id, **given
        )

    return await FLOATINGIP.create(request, schemas.FloatingIpCreate, prepare)


async def update_floatingip(request: Request) -> Response:
    changes = await FLOATINGIP.given(request, schemas.FloatingIpUpdate)

    async def change(session: AsyncSession, row: FloatingIp, _policy: dict[str, Any]) -> None:
        await floatingips.update(session, scope(request), row, changes)

    return await FLOATINGIP.update(request, change)
