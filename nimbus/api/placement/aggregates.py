"""/resource_providers/{uuid}/aggregates (1.1; generations from 1.19)."""

from __future__ import annotations

from typing import Any

from pydantic import RootModel
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.placement import schemas
from nimbus.api.placement.common import authorize, parse, reading, respond, version, writing
from nimbus.errors import BadRequest
from nimbus.placement import aggregates, providers

#: Before 1.19 the body is a bare list of aggregate UUIDs.
_BareList = RootModel[list[schemas.Uuid]]


def _render(request: Request, uuids: list[str], generation: int) -> dict[str, Any]:
    body: dict[str, Any] = {"aggregates": uuids}
    if version(request) >= (1, 19):
        body["resource_provider_generation"] = generation
    return body


async def list_aggregates(request: Request) -> Response:
    authorize(request, "placement:resource_providers:aggregates:list")
    async with reading(request) as session:
        provider = await providers.get(session, request.path_params["uuid"])
        uuids = await aggregates.of_provider(session, provider.id)
    return respond(request, _render(request, uuids, provider.generation))


async def set_aggregates(request: Request) -> Response:
    authorize(request, "placement:resource_providers:aggregates:update")
    generation: int | None = None
    if version(request) >= (1, 19):
        body = await parse(request, schemas.AggregatesUpdate)
        wanted, generation = body.aggregates, body.resource_provider_generation
    else:
        wanted = (await parse(request, _BareList)).root
    if len(set(wanted)) != len(wanted):
        raise BadRequest(f"JSON does not validate: {wanted} has non-unique elements")
    async with writing(request) as session:
        provider = await providers.get(session, request.path_params["uuid"])
        new_generation = await aggregates.set_for_provider(session, provider, wanted, generation)
    return respond(request, _render(request, wanted, new_generation))
