"""Host aggregates: /os-aggregates, /os-aggregates/{id}, their actions (add_host,
remove_host, set_metadata) and image pre-caching (2.81). Admins only.

Upstream answers 200 where 201/204 would be usual (create, delete, actions) and
aggregate ids are integers (a 400 otherwise); both kept for clients' sake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.common.body import Strict
from nimbus.api.compute import schemas, views
from nimbus.api.compute.common import authorize, parse, reading, writing
from nimbus.compute import aggregates
from nimbus.errors import BadRequest

RULE = "os_compute_api:os-aggregates"


def _id(request: Request) -> int:
    text = request.path_params["id"]
    try:
        return int(text)
    except ValueError:
        raise BadRequest("Invalid input received: id must be an integer") from None


def _answer(request: Request, found: aggregates.Details) -> Response:
    return json_response({"aggregate": views.aggregate(request, found)})


async def list_aggregates(request: Request) -> Response:
    authorize(request, f"{RULE}:index")
    async with reading(request) as session:
        found = await aggregates.list_all(session)
    return json_response({"aggregates": [views.aggregate(request, a) for a in found]})


async def create_aggregate(request: Request) -> Response:
    authorize(request, f"{RULE}:create")
    body = (await parse(request, schemas.AggregateCreate)).aggregate
    async with writing(request) as session:
        found = await aggregates.create(session, body.name.strip(), body.availability_zone)
    return json_response({"aggregate": views.aggregate(request, found, created=True)})


async def show_aggregate(request: Request) -> Response:
    authorize(request, f"{RULE}:show")
    async with reading(request) as session:
        return _answer(request, await aggregates.get(session, _id(request)))


async def update_aggregate(request: Request) -> Response:
    authorize(request, f"{RULE}:update")
    body = (await parse(request, schemas.AggregateUpdate)).aggregate
    named = body.model_fields_set
    if not named:
        raise BadRequest(
            "Invalid input for field/attribute aggregate. Value: {}. {} is not valid under "
            "any of the given schemas"
        )
    changes = {field: getattr(body, field) for field in named}
    if changes.get("name") is not None:
        changes["name"] = changes["name"].strip()
    async with writing(request) as session:
        found = await aggregates.get(session, _id(request))
        await aggregates.update(session, found, changes)
        return _answer(request, found)


async def delete_aggregate(request: Request) -> Response:
    authorize(request, f"{RULE}:delete")
    async with writing(request) as session:
        await aggregates.delete_aggregate(session, await aggregates.get(session, _id(request)))
    return Response(status_code=200)


async def _act(
    request: Request,
    rule: str,
    model: type[Strict],
    apply: Callable[[AsyncSession, aggregates.Details, Any], Awaitable[None]],
) -> Response:
    """An action: check `rule`, read the body as `model`, `apply` its one value to the
    aggregate, and show the aggregate as it is now."""
    authorize(request, f"{RULE}:{rule}")
    (value,) = (await parse(request, model)).model_dump().values()
    async with writing(request) as session:
        found = await aggregates.get(session, _id(request))
        await apply(session, found, value)
        return _answer(request, found)


async def add_host(request: Request) -> Response:
    return await _act(
        request, "add_host", schemas.AddHost, lambda s, a, v: aggregates.add_host(s, a, v["host"])
    )


async def remove_host(request: Request) -> Response:
    return await _act(
        request,
        "remove_host",
        schemas.RemoveHost,
        lambda s, a, v: aggregates.remove_host(s, a, v["host"]),
    )


async def set_metadata(request: Request) -> Response:
    return await _act(
        request,
        "set_metadata",
        schemas.SetMetadata,
        lambda s, a, v: aggregates.set_metadata(s, a, v["metadata"]),
    )


async def cache_images(request: Request) -> Response:
    """2.81: accepted (202) and checked, but there is nothing to pre-cache yet: the
    fake driver has no image cache (see docs/compute-api.md)."""
    authorize(request, "compute:aggregates:images")
    aggregate_id = _id(request)
    images = [image.id for image in (await parse(request, schemas.CacheImages)).cache]
    if len(set(images)) != len(images):
        raise BadRequest("Duplicate images in request")
    async with reading(request) as session:
        await aggregates.get(session, aggregate_id)
    return Response(status_code=202)
