"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

import uuid as uuidlib

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.placement import query, schemas, views
from nimbus.api.placement.common import (
    authorize,
    check_query,
    db,
    is_uuid,
    no_body,
    normal_uuid,
    parse,
    pick,
    reading,
    respond,
    version,
    writing,
)
from nimbus.errors import BadRequest
from nimbus.placement import providers, resource_classes, traits
from nimbus.placement.errors import UnknownNames
from nimbus.placement.transactions import retrying

#: The query parameters GET /resource_providers accepts, by the version adding them.
_LIST_PARAMETERS = {
    (1, 0): {"name", "uuid"},
    (1, 3): {"name", "uuid", "member_of"},
    (1, 4): {"name", "uuid", "member_of", "resources"},
    (1, 14): {"name", "uuid", "member_of", "resources", "in_tree"},
    (1, 18): {"name", "uuid", "member_of", "resources", "in_tree", "required"},
}


async def _filters(request: Request, session: AsyncSession) -> providers.Filters:
    """The listing's filters from the query string, names resolved to ids."""
    params = request.query_params
    check_query(request, pick(request, _LIST_PARAMETERS))
    wanted = providers.Filters(name=params.get("name"), uuid=params.get("uuid"))
    if wanted.uuid is not None and not is_uuid(wanted.uuid):
        raise BadRequest(f"Invalid query string parameters: '{wanted.uuid}' is not a 'uuid'")
    if "in_tree" in params:
        wanted.in_tree = query.in_tree(params["in_tree"])
    if "member_of" in params:
        aggregates = query.member_of(request)
        wanted.member_of, wanted.forbidden_aggregates = aggregates.member_of, aggregates.forbidden
    if "resources" in params:
        amounts = query.resources(params["resources"])
        ids = await resource_classes.ids_for_query(session, amounts)
        wanted.resources = {ids[name]: amount for name, amount in amounts.items()}
    if "required" in params:
        named = query.traits(request)
        try:
            wanted.required_traits, wanted.forbidden_traits = await traits.resolve(
                session, named.required, named.forbidden
            )
        except UnknownNames as error:
            raise BadRequest(f'Invalid trait(s) in "required" parameter: {error.message}') from None
    return wanted


async def list_providers(request: Request) -> Response:
    authorize(request, "placement:resource_providers:list")
    async with reading(request) as session:
        rows = await providers.listing(session, await _filters(request, session))
    current = version(request)
    latest = max((row.updated_at for row in rows), default=None)
    body = {"resource_providers": [views.provider(row, current) for row in rows]}
    return respond(request, body, modified=latest)


async def create_provider(request: Request) -> Response:
    """201 without a body before 1.20; 200 with the provider from 1.20."""
    authorize(request, "placement:resource_providers:create")
    model = pick(request, {(1, 0): schemas.ProviderCreate, (1, 14): schemas.ProviderCreate114})
    body = await parse(request, model)
    rp_uuid = normal_uuid(body.uuid) if body.uuid else str(uuidlib.uuid4())
    parent = getattr(body, "parent_provider_uuid", None)
    async with writing(request) as session:
        row = await providers.create(
            session,
            name=body.name,
            uuid=rp_uuid,
            parent_uuid=normal_uuid(parent) if parent else None,
        )
    location = views.provider_url(row.uuid)
    if version(request) < (1, 20):
        return no_body(201, location=location)
    return respond(
        request, views.provider(row, version(request)), modified=row.updated_at, location=location
    )


async def show_provider(request: Request) -> Response:
    authorize(request, "placement:resource_providers:show")
    async with reading(request) as session:
        row = await providers.get(session, request.path_params["uuid"])
    return respond(request, views.provider(row, version(request)), modified=row.updated_at)


async def update_provider(request: Request) -> Response:
    """Rename; from 1.14 set the parent (re-parent or un-parent from 1.37)."""
    authorize(request, "placement:resource_providers:update")
    model = pick(request, {(1, 0): schemas.ProviderUpdate, (1, 14): schemas.ProviderUpdate114})
    body = await parse(request, model)
    parent: object = providers.KEEP
    if "parent_provider_uuid" in body.model_fields_set:
        given = body.parent_provider_uuid  # type: ignore[attr-defined]
        parent = normal_uuid(given) if given else None
    async with writing(request) as session:
        row = await providers.get(session, request.path_params["uuid"])
        row = await providers.update_provider(
            session,
            row,
            name=body.name,
            parent_uuid=parent,
            allow_reparenting=version(request) >= (1, 37),
        )
    return respond(request, views.provider(row, version(request)), modified=row.updated_at)


async def delete_provider(request: Request) -> Response:
    """No generation is sent, so a race with a concurrent write simply runs again."""
    authorize(request, "placement:resource_providers:delete")
    rp_uuid = request.path_params["uuid"]

    async def work(session: AsyncSession) -> None:
        row = await providers.get(session, rp_uuid)
        await providers.delete_provider(session, row)

    await retrying(db(request), work)
    return no_body()
