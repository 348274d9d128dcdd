"""/servers/{id}/metadata[/{key}] (server metadata) and /servers/{id}/tags[/{tag}]
(server tags, from 2.26)."""

from __future__ import annotations

from typing import Annotated, Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import Strict
from nimbus.api.compute import common, server_schemas
from nimbus.api.compute.server_common import server_of, who
from nimbus.compute import lifecycle, metadata
from nimbus.errors import BadRequest

META = "os_compute_api:server-metadata"
TAGS = "os_compute_api:os-server-tags"


class MetadataBody(Strict):
    metadata: server_schemas.Metadata


class MetaBody(Strict):
    meta: server_schemas.Metadata


class TagsBody(Strict):
    tags: Annotated[list[server_schemas.Tag], server_schemas.Field(max_length=50)]


async def _server(request: Request, session: Any, rule: str, *, changing: bool) -> Any:
    server = await server_of(session, request, request.path_params["server_id"], rule)
    if changing:
        lifecycle.check_unlocked(server, who(request))
    return server


async def list_metadata(request: Request) -> Response:
    async with common.reading(request) as session:
        server = await _server(request, session, f"{META}:index", changing=False)
        return json_response({"metadata": await metadata.get_all(session, server.uuid)})


async def _write_all(request: Request, rule: str, *, replace: bool) -> Response:
    body = await common.parse(request, MetadataBody)
    async with common.writing(request) as session:
        server = await _server(request, session, rule, changing=True)
        merged = await metadata.write(session, server, body.metadata, replace=replace)
    return json_response({"metadata": merged})


async def update_metadata(request: Request) -> Response:
    """POST: merge into the metadata."""
    return await _write_all(request, f"{META}:create", replace=False)


async def replace_metadata(request: Request) -> Response:
    """PUT: the metadata becomes exactly the body's."""
    return await _write_all(request, f"{META}:update_all", replace=True)


async def show_metadata_item(request: Request) -> Response:
    key = request.path_params["key"]
    async with common.reading(request) as session:
        server = await _server(request, session, f"{META}:show", changing=False)
        return json_response({"meta": {key: await metadata.get_one(session, server.uuid, key)}})


async def set_metadata_item(request: Request) -> Response:
    key = request.path_params["key"]
    body = await common.parse(request, MetaBody)
    if key not in body.meta:
        raise BadRequest("Request body and URI mismatch")
    if len(body.meta) > 1:
        raise BadRequest("Request body contains too many items")
    async with common.writing(request) as session:
        server = await _server(request, session, f"{META}:update", changing=True)
        await metadata.write(session, server, body.meta, replace=False)
    return json_response({"meta": body.meta})


async def delete_metadata_item(request: Request) -> Response:
    async with common.writing(request) as session:
        server = await _server(request, session, f"{META}:delete", changing=True)
        await metadata.delete_one(session, server, request.path_params["key"])
    return no_content()


# --- tags ------------------------------------------------------------------------------


async def list_tags(request: Request) -> Response:
    async with common.reading(request) as session:
        server = await _server(request, session, f"{TAGS}:index", changing=False)
        return json_response({"tags": await metadata.tags(session, server.uuid)})


async def replace_tags(request: Request) -> Response:
    body = await common.parse(request, TagsBody)
    async with common.writing(request) as session:
        server = await _server(request, session, f"{TAGS}:update_all", changing=True)
        tags = await metadata.set_tags(session, server, body.tags)
    return json_response({"tags": tags})


async def delete_tags(request: Request) -> Response:
    async with common.writing(request) as session:
        server = await _server(request, session, f"{TAGS}:delete_all", changing=True)
        await metadata.clear_tags(session, server)
    return no_content()


async def check_tag(request: Request) -> Response:
    async with common.reading(request) as session:
        server = await _server(request, session, f"{TAGS}:show", changing=False)
        await metadata.has_tag(session, server.uuid, request.path_params["tag"])
    return no_content()


async def add_tag(request: Request) -> Response:
    tag = request.path_params["tag"]
    common.validate(TagsBody, {"tags": [tag]})
    async with common.writing(request) as session:
        server = await _server(request, session, f"{TAGS}:update", changing=True)
        added = await metadata.add_tag(session, server, tag)
    if not added:
        return no_content()
    location = f"{common.base_url(request)}{common.API_ROOT}/servers/{server.uuid}/tags/{tag}"
    return Response(status_code=201, headers={"Location": location})


async def delete_tag(request: Request) -> Response:
    async with common.writing(request) as session:
        server = await _server(request, session, f"{TAGS}:delete", changing=True)
        await metadata.remove_tag(session, server, request.path_params["tag"])
    return no_content()
