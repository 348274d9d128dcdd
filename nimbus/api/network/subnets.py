"""/v2.0/subnets and /v2.0/subnets/{id}."""

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
from nimbus.db.models.network import Network, Subnet
from nimbus.network import errors, networks, subnets


async def policy_target(session: AsyncSession, row: Subnet) -> dict[str, Any]:
    network = await session.get(Network, row.network_id)
    return target(
        row.project_id,
        network_id=row.network_id,
        network_project_id=network.project_id if network else None,
        shared=bool(network and network.shared),
    )


SUBNET = Resource(
    name="subnet",
    get=subnets.get,
    rows=subnets.listing,
    remove=lambda session, _scope, row: subnets.delete_subnet(session, row),
    documents=each(views.subnet),
    missing=lambda subnet_id: errors.SubnetNotFound(subnet_id=subnet_id),
    policy_target=policy_target,
)


def _domain_arguments(given: dict[str, Any]) -> dict[str, Any]:
    """The body as nimbus.network.subnets takes it (pools and routes as plain dicts)."""
    arguments = {k: v for k, v in given.items() if k not in ("project_id", "tenant_id")}
    for unused in ("segment_id", "service_types"):
        arguments.pop(unused, None)
    return arguments


async def create_subnet(request: Request) -> Response:
    def prepare(body: schemas.SubnetCreate) -> Maker[Subnet]:
        project_id = owner(request, body)
        arguments = _domain_arguments(set_fields(body))

        async def make(session: AsyncSession) -> Subnet:
            """The network decides who may add a subnet to it: found in the transaction."""
            network = await networks.get(session, scope(request), arguments["network_id"])
            policy = target(
                project_id, network_project_id=network.project_id, shared=network.shared
            )
            authorize(request, "create_subnet", policy)
            return await subnets.create(
                session, scope(request), options(request), project_id=project_id, **arguments
            )

        return make

    return await SUBNET.create(request, schemas.SubnetCreate, prepare)


async def update_subnet(request: Request) -> Response:
    changes = _domain_arguments(await SUBNET.given(request, schemas.SubnetUpdate))

    async def change(session: AsyncSession, row: Subnet, _policy: dict[str, Any]) -> None:
        await subnets.update(session, row, changes)

    return await SUBNET.update(request, change)
