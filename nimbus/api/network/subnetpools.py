"""/v2.0/subnetpools and /v2.0/subnetpools/{id}."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.network import schemas, views
from nimbus.api.network.common import (
    authorize,
    authorize_attributes,
    owner,
    set_fields,
    target,
)
from nimbus.api.network.resource import Maker, Resource, each
from nimbus.db.models.network import SubnetPool
from nimbus.network import errors, subnetpools

CREATE_DEFAULTS = {"shared": False, "is_default": False}
#: Accepted for upstream's sake, always null (address scopes are not implemented).
IGNORED = ("project_id", "tenant_id", "address_scope_id")


async def policy_target(_session: AsyncSession, row: SubnetPool) -> dict[str, Any]:
    return target(row.project_id, shared=row.shared)


SUBNETPOOL = Resource(
    name="subnetpool",
    get=subnetpools.get,
    rows=subnetpools.listing,
    remove=lambda session, _scope, row: subnetpools.delete_pool(session, row),
    documents=each(views.subnetpool),
    missing=lambda pool_id: errors.SubnetPoolNotFound(subnetpool_id=pool_id),
    policy_target=policy_target,
)


def _domain_arguments(given: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in given.items() if k not in IGNORED}


async def create_pool(request: Request) -> Response:
    def prepare(body: schemas.SubnetPoolCreate) -> Maker[SubnetPool]:
        project_id = owner(request, body)
        given = set_fields(body)
        policy = target(project_id, shared=body.shared)
        authorize(request, "create_subnetpool", policy)
        authorize_attributes(request, "create_subnetpool", given, policy, CREATE_DEFAULTS)
        arguments = _domain_arguments(given)
        return lambda session: subnetpools.create(session, project_id=project_id, **arguments)

    return await SUBNETPOOL.create(request, schemas.SubnetPoolCreate, prepare)


async def update_pool(request: Request) -> Response:
    given = await SUBNETPOOL.given(request, schemas.SubnetPoolUpdate)

    async def change(session: AsyncSession, row: SubnetPool, policy: dict[str, Any]) -> None:
        authorize_attributes(request, "update_subnetpool", given, policy)
        await subnetpools.update(session, row, _domain_arguments(given))

    return await SUBNETPOOL.update(request, change)
