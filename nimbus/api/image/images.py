"""Handlers of /v2/images: create, list, show, update, delete, actions and tags."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import read_json, validate
from nimbus.api.common.handler import caller, db
from nimbus.api.image import access, patch, query
from nimbus.api.image.schemas import ImageDocument
from nimbus.api.image.views import IMAGES, image_view, images_page
from nimbus.errors import BadRequest, Forbidden
from nimbus.image import images, listing

#: Members of a create body that are image columns; the rest are properties.
_COLUMNS = frozenset({*images.WRITABLE, "id"})


def _creation(body: Any) -> dict[str, Any]:
    """A create body, refused with 403 for read-only or reserved members (as Glance
    does before validating types) and 400 for anything the image schema refuses."""
    if not isinstance(body, dict):
        raise BadRequest("Body expected in request: a JSON object describing the image.")
    for name in body:
        reason = images.refusal(name, creating=True)
        if reason:
            raise Forbidden(reason)
    return validate(ImageDocument, body).given()


async def create_image(request: Request) -> Response:
    fields = _creation(await read_json(request))
    tags = fields.pop("tags", [])
    columns = {k: v for k, v in fields.items() if k in _COLUMNS}
    properties = {k: v for k, v in fields.items() if k not in _COLUMNS}
    owner = columns.pop("owner", caller(request).project_id)
    target = {"project_id": owner, "owner": owner, "visibility": fields.get("visibility")}
    if not access.permits(request, "add_image", target):
        if owner != caller(request).project_id:
            raise Forbidden(f"You are not permitted to create images owned by '{owner}'.")
        access.refuse(request, "add_image", target)
    _check_visibility(request, target["visibility"], target)
    async with db(request).transaction() as session:
        image = await images.create_image(
            session, owner=owner, tags=tags, properties=properties, **columns
        )
    return json_response(
        image_view(image), status=201, headers={"Location": f"{IMAGES}/{image.id}"}
    )


def _check_visibility(request: Request, visibility: str | None, target: dict[str, Any]) -> None:
    """Making an image public or community has rules of its own."""
    if visibility == "public":
        access.refuse(request, "publicize_image", target)
    elif visibility == "community":
        access.refuse(request, "communitize_image", target)


async def list_images(request: Request) -> Response:
    params = request.query_params.multi_items()
    parsed = query.parse(params)
    access.refuse(request, "get_images", {"project_id": caller(request).project_id})
    seer = access.viewer(request)
    async with db(request).reader() as session:
        page = await listing.list_images(session, seer, parsed)
    shown = [
        image
        for image in page
        if access.permits(request, "get_image", access.image_target(image, seer))
    ]
    next_marker = shown[-1].id if shown and len(page) == parsed.limit else None
    return json_response(images_page(shown, params, next_marker))


async def show_image(request: Request) -> Response:
    async with db(request).reader() as session:
        image = await access.load(request, session)
    return json_response(image_view(image))


async def list_image_tasks(request: Request) -> Response:
    """GET /v2/images/{id}/tasks (API 2.12): the import tasks that touched the image.
    Nimbus offers no interoperable import, so no task ever exists: an empty list for
    an image the caller may see, 404 otherwise."""
    async with db(request).reader() as session:
        await access.load(request, session)
    return json_response({"tasks": []})


async def update_image(request: Request) -> Response:
    media_type = patch.check_media_type(request.headers.get("content-type"))
    changes = patch.parse(await read_json(request), media_type)
    async with db(request).transaction() as session:
        image = await access.load(request, session)
        target = access.image_target(image, access.viewer(request))
        for change in changes:
            if change.name == "owner" and not access.viewer(request).is_admin:
                raise Forbidden("Owner can't be updated by non admin.")
            if change.name == "visibility":
                _check_visibility(request, change.value, target)
        if changes:
            access.enforce(request, "modify_image", image)
        for change in changes:
            images.apply_change(image, change)
        await session.flush()
        view = image_view(image)
    return json_response(view)


async def delete_image(request: Request) -> Response:
    async with db(request).transaction() as session:
        image = await access.load(request, session, "delete_image")
        await images.delete_image(session, image)
    await access.store(request).delete(image.id)
    return no_content()


async def deactivate_image(request: Request) -> Response:
    async with db(request).transaction() as session:
        images.deactivate(await access.load(request, session, "deactivate"))
    return no_content()


async def reactivate_image(request: Request) -> Response:
    async with db(request).transaction() as session:
        images.reactivate(await access.load(request, session, "reactivate"))
    return no_content()


async def add_tag(request: Request) -> Response:
    tag = validate(ImageDocument, {"tags": [request.path_params["tag"]]}).tags[0]
    async with db(request).transaction() as session:
        images.add_tag(await access.load(request, session, "modify_image"), tag)
    return no_content()


async def remove_tag(request: Request) -> Response:
    async with db(request).transaction() as session:
        image = await access.load(request, session, "modify_image")
        images.remove_tag(image, request.path_params["tag"])
    return no_content()
