"""/resource_classes[/{name}] (1.2; PUT creates from 1.7)."""

from __future__ import annotations

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
    writing,
)
from nimbus.errors import BadRequest
from nimbus.placement import resource_classes
from nimbus.placement.names import RESOURCE_CLASSES
from nimbus.placement.standard import CUSTOM_NAME


async def list_classes(request: Request) -> Response:
    authorize(request, "placement:resource_classes:list")
    async with reading(request) as session:
        names = await resource_classes.list_names(session)
    return respond(request, {"resource_classes": [views.resource_class(n) for n in names]})


async def show_class(request: Request) -> Response:
    authorize(request, "placement:resource_classes:show")
    async with reading(request) as session:
        row = await RESOURCE_CLASSES.get(session, request.path_params["name"])
    return respond(request, views.resource_class(row.name))


async def create_class(request: Request) -> Response:
    authorize(request, "placement:resource_classes:create")
    body = await parse(request, schemas.ResourceClassName)
    await resource_classes.create(db(request), body.name)
    return no_body(201, location=views.resource_class_url(body.name))


async def rename_class(request: Request) -> Response:
    """1.2 to 1.6: PUT renames a custom class."""
    authorize(request, "placement:resource_classes:update")
    body = await parse(request, schemas.ResourceClassName)
    await resource_classes.rename(db(request), request.path_params["name"], body.name)
    return respond(request, views.resource_class(body.name))


async def ensure_class(request: Request) -> Response:
    """From 1.7: PUT (no body) creates a custom class, 201, or finds it there, 204."""
    authorize(request, "placement:resource_classes:update")
    name = request.path_params["name"]
    if len(name) > 255 or not CUSTOM_NAME.match(name):
        raise BadRequest(f"JSON does not validate: '{name}' does not match '^CUSTOM_[A-Z0-9_]+$'")
    created = await resource_classes.ensure(db(request), name)
    return no_body(201 if created else 204, location=views.resource_class_url(name))


async def delete_class(request: Request) -> Response:
    authorize(request, "placement:resource_classes:delete")
    async with writing(request) as session:
        await resource_classes.delete_class(session, request.path_params["name"])
    return no_body()
