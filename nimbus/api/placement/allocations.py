"""/allocations/{consumer_uuid}, POST /allocations (1.13) and a provider's allocations.

The body's shape changed with 1.8 (project and user), 1.12 (a dict by provider
instead of a list), 1.28 (consumer generations), 1.34 (mappings, ignored) and 1.38
(consumer types); each version's model is in schemas.py, and all of them become the
same `allocations.Claim` here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.placement import schemas
from nimbus.api.placement.common import (
    authorize,
    db,
    is_uuid,
    no_body,
    normal_uuid,
    parse,
    pick,
    reading,
    respond,
    version,
)
from nimbus.errors import BadRequest
from nimbus.placement import allocations, providers

_PUT_BODIES = {
    (1, 0): schemas.Allocations10,
    (1, 8): schemas.Allocations18,
    (1, 12): schemas.Allocations112,
    (1, 28): schemas.Allocations128,
    (1, 34): schemas.Allocations134,
    (1, 38): schemas.Allocations138,
}
_POST_BODIES = {
    (1, 13): schemas.AllocationsMayBeEmpty,
    (1, 28): schemas.Allocations128,
    (1, 34): schemas.Allocations134,
    (1, 38): schemas.Allocations138,
}


def _consumer(value: str) -> str:
    if not is_uuid(value):
        raise BadRequest(f"Malformed consumer_uuid: {value}")
    return normal_uuid(value)


def _provider_key(value: str) -> str:
    return normal_uuid(value) if is_uuid(value) else value


def _claim(request: Request, consumer: str, body: Any) -> allocations.Claim:
    """Any version's body as the claim it describes."""
    if isinstance(body.allocations, list):
        wanted = {
            _provider_key(item.resource_provider.uuid): item.resources for item in body.allocations
        }
    else:
        wanted = {_provider_key(rp): item.resources for rp, item in body.allocations.items()}
    return allocations.Claim(
        consumer=consumer,
        allocations=wanted,
        project_id=getattr(body, "project_id", allocations.INCOMPLETE_CONSUMER),
        user_id=getattr(body, "user_id", allocations.INCOMPLETE_CONSUMER),
        generation=getattr(body, "consumer_generation", None),
        check_generation=version(request) >= (1, 28),
        consumer_type=getattr(body, "consumer_type", None),
    )


async def list_for_consumer(request: Request) -> Response:
    authorize(request, "placement:allocations:list")
    consumer = request.path_params["consumer_uuid"]
    async with reading(request) as session:
        held = await allocations.of_consumer(session, consumer)
    body: dict[str, Any] = {"allocations": held.allocations}
    current = version(request)
    if held.consumer is not None and held.allocations and current >= (1, 12):
        body["project_id"] = held.consumer.project_id
        body["user_id"] = held.consumer.user_id
        if current >= (1, 28):
            body["consumer_generation"] = held.consumer.generation
        if current >= (1, 38):
            body["consumer_type"] = held.consumer.consumer_type or allocations.UNKNOWN_TYPE
    return respond(request, body)


async def set_for_consumer(request: Request) -> Response:
    authorize(request, "placement:allocations:update")
    consumer = _consumer(request.path_params["consumer_uuid"])
    body = await parse(request, pick(request, _PUT_BODIES))
    await allocations.replace(db(request), [_claim(request, consumer, body)])
    return no_body()


async def set_many(request: Request) -> Response:
    """POST /allocations: several consumers' allocations, all or nothing (1.13)."""
    authorize(request, "placement:allocations:manage")
    body = await parse(request, schemas.by_consumer(pick(request, _POST_BODIES)))
    claims = [_claim(request, _consumer(c), item) for c, item in body.root.items()]
    await allocations.replace(db(request), claims)
    return no_body()


async def delete_for_consumer(request: Request) -> Response:
    authorize(request, "placement:allocations:delete")
    await allocations.delete_consumer(db(request), request.path_params["consumer_uuid"])
    return no_body()


async def list_for_provider(request: Request) -> Response:
    """GET /resource_providers/{uuid}/allocations, consumer generations from 1.28."""
    authorize(request, "placement:resource_providers:allocations:list")
    async with reading(request) as session:
        provider = await providers.get(session, request.path_params["uuid"])
        held = await allocations.on_provider(session, provider.id)
    if version(request) < (1, 28):
        for entry in held.values():
            entry.pop("consumer_generation")
    body = {"allocations": held, "resource_provider_generation": provider.generation}
    return respond(request, body)
