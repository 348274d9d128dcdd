"""The compute API's image proxy (up to 2.35; image metadata up to 2.38): Nova's
older clients list, show and delete images and edit their properties through
/v2.1/images instead of the image service. Nimbus shares the image service's
database, so these handlers read and change the same images through its domain logic.

As in Nova, the image service's own visibility applies (an image the caller cannot
see is a 404), only the owner's project or an admin may delete an image or change its
properties (403 otherwise), and image metadata counts against the caller's
``metadata_items`` quota. Deviation: image links carry self and bookmark but not
Nova's "alternate" link to the image service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import common, schemas
from nimbus.api.compute.server_common import moment_param
from nimbus.compute import quotas
from nimbus.db.models.image import Image
from nimbus.errors import BadRequest, Forbidden, NotFound
from nimbus.image import images, listing
from nimbus.image.visibility import Viewer

#: Image service status → what Nova shows, and its progress figure.
_STATUS = {
    "active": "ACTIVE",
    "queued": "SAVING",
    "saving": "SAVING",
    "deleted": "DELETED",
    "pending_delete": "DELETED",
    "killed": "ERROR",
}
_PROGRESS = {"queued": 25, "saving": 50, "active": 100}
#: Nova's filter names → the image property they match.
_PROPERTY_FILTERS = {"server": "instance_uuid", "type": "image_type"}


def _viewer(request: Request) -> Viewer:
    context = common.caller(request)
    return Viewer(project_id=context.project_id, is_admin=context.is_admin)


async def _load(session: AsyncSession, request: Request) -> Image:
    try:
        return await images.get_image(session, request.path_params["image_id"], _viewer(request))
    except NotFound:
        raise NotFound("Image not found.") from None


def _check_owner(request: Request, image: Image) -> None:
    """Deleting and editing are for the owner's project or an admin."""
    viewer = _viewer(request)
    if not (viewer.is_admin or viewer.owns(image)):
        raise Forbidden("You are not authorized to change this image.")


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _brief(request: Request, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": common.links(request, "images", image.id)}


def _detail(request: Request, image: Image) -> dict[str, Any]:
    properties = images.properties_of(image)
    shown = {
        **_brief(request, image),
        "minRam": image.min_ram or 0,
        "minDisk": image.min_disk or 0,
        "metadata": properties,
        "created": _date(image.created_at),
        "updated": _date(image.updated_at),
        "status": _STATUS.get(image.status, "UNKNOWN"),
        "progress": _PROGRESS.get(image.status, 0),
        "OS-EXT-IMG-SIZE:size": image.size,
    }
    server = properties.get("instance_uuid")
    if server is not None:
        shown["server"] = {"id": server, "links": common.links(request, "servers", server)}
    auto_disk = properties.get("auto_disk_config")
    if auto_disk is not None:
        shown["OS-DCF:diskConfig"] = "AUTO" if common.bool_from_string(auto_disk) else "MANUAL"
    return shown


def _query(request: Request, limit: int) -> listing.ImageQuery:
    params = request.query_params
    query = listing.ImageQuery(limit=limit, marker=params.get("marker"))
    if "name" in params:
        query.comparisons.append(listing.Comparison("name", "eq", params["name"]))
    if "status" in params:
        query.comparisons.append(listing.Comparison("status", "eq", params["status"].lower()))
    since = moment_param(request, "changes-since")
    if since is not None:
        query.comparisons.append(listing.Comparison("updated_at", "gte", since))
    for name, column in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        minimum = common.query_int(request, name)
        if minimum is not None:
            query.comparisons.append(listing.Comparison(column, "gte", minimum))
    for name, prop in _PROPERTY_FILTERS.items():
        if name in params:
            # a server may be named by its URL; its uuid is the last segment
            query.properties[prop] = params[name].rsplit("/", 1)[-1]
    return query


async def _listing(request: Request, detail: bool) -> Response:
    limit = common.limit_of(request)
    async with common.reading(request) as session:
        found = await listing.list_images(session, _viewer(request), _query(request, limit))
        shown = [(_detail if detail else _brief)(request, image) for image in found]
    path = "images/detail" if detail else "images"
    return json_response(common.paged(request, "images", shown, limit, path=path))


async def list_images(request: Request) -> Response:
    return await _listing(request, detail=False)


async def list_images_detail(request: Request) -> Response:
    return await _listing(request, detail=True)


async def show_image(request: Request) -> Response:
    async with common.reading(request) as session:
        return json_response({"image": _detail(request, await _load(session, request))})


async def delete_image(request: Request) -> Response:
    async with common.writing(request) as session:
        image = await _load(session, request)
        _check_owner(request, image)
        await images.delete_image(session, image)
    return Response(status_code=204)


# --- metadata (the image's properties) ----------------------------------------------------


async def _set_properties(
    request: Request, session: AsyncSession, image: Image, wanted: dict[str, str], replace: bool
) -> dict[str, str | None]:
    """Merge `wanted` into the image's properties (or make them exactly `wanted`)."""
    _check_owner(request, image)
    current = images.properties_of(image)
    merged = wanted if replace else {**current, **wanted}
    context = common.caller(request)
    try:
        await quotas.check(
            session, context.project_id or "", context.user_id, metadata_items=len(merged)
        )
    except quotas.OverQuota:
        raise Forbidden("Image metadata limit exceeded") from None
    for name in merged:
        refusal = images.refusal(name)
        if refusal:
            raise Forbidden(refusal)
    for name in set(current) - set(merged):
        images.apply_change(image, images.Change("remove", name))
    for name, value in merged.items():
        images.apply_change(image, images.Change("add", name, value))
    await session.flush()
    return images.properties_of(image)


async def list_metadata(request: Request) -> Response:
    async with common.reading(request) as session:
        image = await _load(session, request)
        return json_response({"metadata": images.properties_of(image)})


async def update_metadata(request: Request) -> Response:
    """POST: merge."""
    body = await common.parse(request, schemas.ImageMetadata)
    async with common.writing(request) as session:
        image = await _load(session, request)
        merged = await _set_properties(request, session, image, body.metadata, replace=False)
    return json_response({"metadata": merged})


async def replace_metadata(request: Request) -> Response:
    """PUT: replace them all."""
    body = await common.parse(request, schemas.ImageMetadata)
    async with common.writing(request) as session:
        image = await _load(session, request)
        result = await _set_properties(request, session, image, body.metadata, replace=True)
    return json_response({"metadata": result})


async def show_metadata_item(request: Request) -> Response:
    key = request.path_params["key"]
    async with common.reading(request) as session:
        properties = images.properties_of(await _load(session, request))
    if key not in properties:
        raise NotFound("Invalid metadata key")
    return json_response({"meta": {key: properties[key]}})


async def set_metadata_item(request: Request) -> Response:
    key = request.path_params["key"]
    body = await common.parse(request, schemas.ImageMetaItem)
    if key not in body.meta:
        raise BadRequest("Request body and URI mismatch")
    async with common.writing(request) as session:
        image = await _load(session, request)
        await _set_properties(request, session, image, body.meta, replace=False)
    return json_response({"meta": body.meta})


async def delete_metadata_item(request: Request) -> Response:
    key = request.path_params["key"]
    async with common.writing(request) as session:
        image = await _load(session, request)
        _check_owner(request, image)
        if key not in images.properties_of(image):
            raise NotFound("Invalid metadata key")
        images.apply_change(image, images.Change("remove", key))
    return Response(status_code=204)
