"""/traits[/{name}] and /resource_providers/{uuid}/traits (all from 1.6)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.placement import schemas
from nimbus.api.placement.common import (
    authorize,
    check_query,
    db,
    no_body,
    parse,
    reading,
    respond,
    writing,
)
from nimbus.errors import BadRequest
from nimbus.placement import providers, traits
from nimbus.placement.names import TRAITS
from nimbus.placement.standard import CUSTOM_NAME


def _name_filter(value: str) -> dict[str, object]:
    """``in:A,B`` or ``startswith:PREFIX``."""
    operator, colon, operand = value.partition(":")
    if not colon:
        raise BadRequest(
            "Badly formatted name parameter. Expected name query string parameter in form: "
            f'?name=[in|startswith]:[name1,name2|prefix]. Got: "{value}"'
        )
    if operator == "in":
        return {"within": operand.split(",")}
    if operator == "startswith":
        return {"prefix": operand}
    return {}


async def list_traits(request: Request) -> Response:
    authorize(request, "placement:traits:list")
    check_query(request, {"name", "associated"})
    params = request.query_params
    wanted: dict[str, object] = {}
    if "name" in params:
        wanted.update(_name_filter(params["name"]))
    if "associated" in params:
        flag = params["associated"].lower()
        if flag not in ("true", "false"):
            raise BadRequest('The query parameter "associated" only accepts "true" or "false"')
        wanted["associated"] = flag == "true"
    async with reading(request) as session:
        names = await traits.list_names(session, **wanted)  # type: ignore[arg-type]
    return respond(request, {"traits": names})


async def show_trait(request: Request) -> Response:
    """204 if the trait exists (there is nothing else to show)."""
    authorize(request, "placement:traits:show")
    async with reading(request) as session:
        await TRAITS.get(session, request.path_params["name"])
    return no_body()


async def put_trait(request: Request) -> Response:
    """Create a custom trait: 201, or 204 if it already existed."""
    authorize(request, "placement:traits:update")
    name = request.path_params["name"]
    if len(name) > 255 or not CUSTOM_NAME.match(name):
        raise BadRequest(
            "The trait is invalid. A valid trait must be no longer than 255 characters, "
            'start with the prefix "CUSTOM_" and use following characters: "A"-"Z", '
            '"0"-"9" and "_"'
        )
    created = await TRAITS.ensure(db(request), name)
    return no_body(201 if created else 204, location=f"/traits/{name}")


async def delete_trait(request: Request) -> Response:
    authorize(request, "placement:traits:delete")
    async with writing(request) as session:
        await traits.delete_trait(session, request.path_params["name"])
    return no_body()


def _provider_traits(request: Request, generation: int, names: list[str]) -> Response:
    return respond(request, {"traits": names, "resource_provider_generation": generation})


async def list_provider_traits(request: Request) -> Response:
    authorize(request, "placement:resource_providers:traits:list")
    async with reading(request) as session:
        provider = await providers.get(session, request.path_params["uuid"])
        held = await traits.of_providers(session, [provider.id])
    return _provider_traits(request, provider.generation, held.get(provider.id, []))


async def set_provider_traits(request: Request) -> Response:
    authorize(request, "placement:resource_providers:traits:update")
    body = await parse(request, schemas.ProviderTraits)
    async with writing(request) as session:
        provider = await providers.get(session, request.path_params["uuid"])
        generation = await traits.set_for_provider(
            session, provider, body.traits, body.resource_provider_generation
        )
    return _provider_traits(request, generation, sorted(set(body.traits)))


async def delete_provider_traits(request: Request) -> Response:
    authorize(request, "placement:resource_providers:traits:delete")
    async with writing(request) as session:
        provider = await providers.get(session, request.path_params["uuid"])
        await traits.clear_for_provider(session, provider)
    return no_body()
