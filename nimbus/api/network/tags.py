"""/v2.0/{collection}/{id}/tags (standard-attr-tag): replace, add, check, remove.

Tags are written by whoever may write the resource: its project (or an admin);
another project's resource is "not found" unless the caller can see it (a shared
network), then "not allowed".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import read_json
from nimbus.api.network import schemas
from nimbus.api.network.common import (
    reading,
    scope,
    validate,
    write,
)
from nimbus.network import (
    errors,
    floatingips,
    networks,
    ports,
    records,
    routers,
    subnetpools,
    subnets,
)
from nimbus.network import security_groups as groups
from nimbus.network.scope import Scope

Getter = Callable[[AsyncSession, Scope, str], Awaitable[Any]]

#: Collections whose resources take tags, with how to find one in the caller's scope.
GETTERS: dict[str, Getter] = {
    "networks": networks.get,
    "subnets": subnets.get,
    "subnetpools": subnetpools.get,
    "ports": ports.get,
    "routers": routers.get,
    "floatingips": floatingips.get,
    "security-groups": groups.get,
}
MAX_TAG_LENGTH = 255


def _collection(request: Request) -> str:
    return request.url.path.split("/")[2]


async def _visible(request: Request, session: AsyncSession) -> Any:
    return await GETTERS[_collection(request)](session, scope(request), request.path_params["id"])


async def _writable(request: Request, session: AsyncSession) -> Any:
    row = await _visible(request, session)
    if not scope(request).owns(row.project_id):
        raise errors.PolicyNotAuthorized(action=f"update_{_collection(request)}_tags")
    return row


def _check(tags: list[str]) -> list[str]:
    for tag in tags:
        if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag:
            raise errors.InvalidInput(error_message=f"'{tag}' is not a valid tag")
    return list(dict.fromkeys(tags))


async def list_tags(request: Request) -> Response:
    async with reading(request) as session:
        row = await _visible(request, session)
    return json_response({"tags": list(row.tags)})


async def replace_tags(request: Request) -> Response:
    tags = _check(validate(schemas.Tags, await read_json(request)).tags)

    async def work(session: AsyncSession) -> list[str]:
        records.update(await _writable(request, session), {"tags": tags})
        return tags

    return json_response({"tags": await write(request, work)})


async def delete_tags(request: Request) -> Response:
    async def work(session: AsyncSession) -> None:
        records.update(await _writable(request, session), {"tags": []})

    await write(request, work)
    return no_content()


async def check_tag(request: Request) -> Response:
    tag = request.path_params["tag"]
    async with reading(request) as session:
        row = await _visible(request, session)
    if tag not in row.tags:
        raise errors.TagNotFound(tag=tag)
    return no_content()


async def add_tag(request: Request) -> Response:
    (tag,) = _check([request.path_params["tag"]])

    async def work(session: AsyncSession) -> None:
        row = await _writable(request, session)
        if tag not in row.tags:
            records.update(row, {"tags": [*row.tags, tag]})

    await write(request, work)
    return Response(status_code=201)


async def delete_tag(request: Request) -> Response:
    tag = request.path_params["tag"]

    async def work(session: AsyncSession) -> None:
        row = await _writable(request, session)
        if tag not in row.tags:
            raise errors.TagNotFound(tag=tag)
        records.update(row, {"tags": [t for t in row.tags if t != tag]})

    await write(request, work)
    return no_content()
