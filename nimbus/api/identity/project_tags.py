"""/v3/projects/{project_id}/tags: a project's tags as a collection of their own."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse, validate
from nimbus.api.common.handler import authorize, base_url, db
from nimbus.api.identity import targets, views
from nimbus.api.identity.schemas import Tag, TagsBody
from nimbus.db.models.identity import Project
from nimbus.identity import projects


async def _project(session: AsyncSession, request: Request, rule: str) -> Project:
    """The project of the URL, once the caller may apply `rule` to it."""
    row = await projects.get_project(session, request.path_params["project_id"])
    authorize(request, rule, project=targets.project(row))
    return row


def _tag(request: Request) -> str:
    """The tag of the URL, held to the same rules as tags in bodies (no ',' or '/')."""
    return validate(TagsBody, {"tags": [request.path_params["tag"]]}).tags[0]


async def _tags_response(request: Request, project_id: str) -> Response:
    async with db(request).reader() as session:
        names = (await projects.tags_of(session, [project_id]))[project_id]
    return json_response(views.tags(f"{base_url(request)}{request.url.path}", names))


async def list_tags(request: Request) -> Response:
    async with db(request).reader() as session:
        row = await _project(session, request, "identity:list_project_tags")
    return await _tags_response(request, row.id)


async def replace_tags(request: Request) -> Response:
    body = await parse(request, TagsBody)
    async with db(request).transaction() as session:
        row = await _project(session, request, "identity:update_project_tags")
        await projects.set_tags(session, row.id, body.tags)
    return await _tags_response(request, row.id)


async def clear_tags(request: Request) -> Response:
    async with db(request).transaction() as session:
        row = await _project(session, request, "identity:delete_project_tags")
        await projects.set_tags(session, row.id, [])
    return no_content()


async def check_tag(request: Request) -> Response:
    async with db(request).reader() as session:
        row = await _project(session, request, "identity:get_project_tag")
        await projects.check_tag(session, row.id, request.path_params["tag"])
    return no_content()


async def add_tag(request: Request) -> Response:
    """Add one tag: 201 with its URL in Location, as upstream."""
    tag: Tag = _tag(request)
    async with db(request).transaction() as session:
        row = await _project(session, request, "identity:create_project_tag")
        await projects.add_tag(session, row.id, tag)
    return Response(status_code=201, headers={"Location": f"{base_url(request)}{request.url.path}"})


async def remove_tag(request: Request) -> Response:
    async with db(request).transaction() as session:
        row = await _project(session, request, "identity:delete_project_tag")
        await projects.remove_tag(session, row.id, request.path_params["tag"])
    return no_content()
