"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import fields

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.placement import schemas, views
from nimbus.api.placement.common import (
    authorize,
    db,
    no_body,
    parse,
    reading,
    respond,
    version,
    writing,
)
from nimbus.errors import NotFound
from nimbus.placement import inventories, providers
from nimbus.placement.inventories import Amounts
from nimbus.placement.transactions import retrying


def _amounts(record: schemas.InventoryFields) -> Amounts:
    return Amounts(**{f.name: getattr(record, f.name) for f in fields(Amounts)})


def _reserved_may_be_total(request: Request) -> bool:
    """From 1.26 an inventory may reserve all of its total."""
    return version(request) >= (1, 26)


async def _provider(request: Request, session: AsyncSession) -> providers.Provider:
    return await providers.get(session, request.path_params["uuid"])


async def list_inventories(request: Request) -> Response:
    authorize(request, "placement:resource_providers:inventories:list")
    async with reading(request) as session:
        provider = await _provider(request, session)
        records = await inventories.of_provider(session, provider.id)
    return respond(request, views.inventories(provider.generation, records))


async def show_inventory(request: Request) -> Response:
    authorize(request, "placement:resource_providers:inventories:show")
    name = request.path_params["resource_class"]
    async with reading(request) as session:
        provider = await _provider(request, session)
        records = await inventories.of_provider(session, provider.id)
    if name not in records:
        raise NotFound(f"No inventory of class {name} for {provider.uuid}")
    body = {**views.inventory(records[name]), "resource_provider_generation": provider.generation}
    return respond(request, body)


async def replace_inventories(request: Request) -> Response:
    """PUT all: the client's generation must be current."""
    authorize(request, "placement:resource_providers:inventories:update")
    body = await parse(request, schemas.InventoriesReplace)
    wanted = {name: _amounts(record) for name, record in body.inventories.items()}
    async with writing(request) as session:
        provider = await _provider(request, session)
        generation = await inventories.replace_all(
            session,
            provider,
            body.resource_provider_generation,
            wanted,
            reserved_may_be_total=_reserved_may_be_total(request),
        )
        records = await inventories.of_provider(session, provider.id)
    return respond(request, views.inventories(generation, records))


async def _write_one(
    request: Request, body: schemas.InventoryFields, name: str, *, create: bool
) -> dict:
    generation = getattr(body, "resource_provider_generation", None)
    async with writing(request) as session:
        provider = await _provider(request, session)
        new_generation = await inventories.set_one(
            session,
            provider,
            generation if not create else None,
            name,
            _amounts(body),
            create=create,
            reserved_may_be_total=_reserved_may_be_total(request),
        )
        records = await inventories.of_provider(session, provider.id)
    return {**views.inventory(records[name]), "resource_provider_generation": new_generation}


async def create_inventory(request: Request) -> Response:
    """POST one class the provider does not have yet (no generation needed)."""
    authorize(request, "placement:resource_providers:inventories:create")
    body = await parse(request, schemas.InventoryCreate)
    rendered = await _write_one(request, body, body.resource_class, create=True)
    location = (
        f"{views.provider_url(request.path_params['uuid'])}/inventories/{body.resource_class}"
    )
    return respond(request, rendered, status=201, location=location)


async def update_inventory(request: Request) -> Response:
    """PUT one existing class, with the generation the client read."""
    authorize(request, "placement:resource_providers:inventories:update")
    body = await parse(request, schemas.InventoryUpdate)
    rendered = await _write_one(request, body, request.path_params["resource_class"], create=False)
    return respond(request, rendered)


async def _delete(request: Request, change: Callable[..., Awaitable[int]], *args: str) -> Response:
    """Deletes carry no generation: a lost race is run again, as for claims."""
    rp_uuid = request.path_params["uuid"]

    async def work(session: AsyncSession) -> None:
        await change(session, await providers.get(session, rp_uuid), *args)

    await retrying(db(request), work)
    return no_body()


async def delete_inventory(request: Request) -> Response:
    authorize(request, "placement:resource_providers:inventories:delete")
    return await _delete(request, inventories.delete_one, request.path_params["resource_class"])


async def delete_inventories(request: Request) -> Response:
    """DELETE all (1.5): refused while any of it is allocated."""
    authorize(request, "placement:resource_providers:inventories:delete")
    return await _delete(request, inventories.delete_all)
