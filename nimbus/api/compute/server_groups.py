"""Server groups: /os-server-groups and /os-server-groups/{id}.

By microversion: 2.13 shows project_id and user_id; 2.15 admits the soft policies;
2.64 replaces the ``policies`` list with ``policy`` and ``rules``
(``max_server_per_host`` for anti-affinity); 2.75 refuses unknown query parameters.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas, views
from nimbus.api.compute.common import (
    at_least,
    authorize,
    caller,
    check_query,
    limit_of,
    newest,
    parse,
    query_int,
    reading,
    writing,
)
from nimbus.compute import server_groups
from nimbus.db.models.compute import ServerGroup

RULE = "os_compute_api:os-server-groups"
_CREATE_SCHEMAS = (
    ("2.64", schemas.ServerGroupCreateV264),
    ("2.15", schemas.ServerGroupCreateV215),
    ("2.1", schemas.ServerGroupCreate),
)


def _scope(request: Request) -> str | None:
    """Whose groups the caller may see: any project's for an admin, else its own."""
    context = caller(request)
    return None if context.is_admin else context.project_id


async def _shown(request: Request, session: AsyncSession, group: ServerGroup) -> Response:
    found = await server_groups.members(session, [group])
    return json_response({"server_group": views.server_group(request, group, found[group.id])})


async def list_groups(request: Request) -> Response:
    """Upstream quirk kept: a non-admin asking for all_projects gets its own groups."""
    check_query(request, ("all_projects", "limit", "offset"), strict=at_least(request, "2.75"))
    context = caller(request)
    authorize(request, f"{RULE}:index")
    project_id: str | None = context.project_id
    if "all_projects" in request.query_params and context.is_admin:
        authorize(request, f"{RULE}:index:all_projects")
        project_id = None
    offset = query_int(request, "offset") or 0
    async with reading(request) as session:
        groups = await server_groups.list_groups(
            session, project_id, offset=offset, limit=limit_of(request) or 1000
        )
        found = await server_groups.members(session, groups)
    items = [views.server_group(request, g, found[g.id]) for g in groups]
    return json_response({"server_groups": items})


async def show_group(request: Request) -> Response:
    async with reading(request) as session:
        group = await server_groups.get(session, request.path_params["id"], _scope(request))
        authorize(request, f"{RULE}:show", project_id=group.project_id)
        return await _shown(request, session, group)


async def create_group(request: Request) -> Response:
    authorize(request, f"{RULE}:create")
    model = newest(request, _CREATE_SCHEMAS)
    body = (await parse(request, model)).server_group
    if isinstance(body, schemas.NewServerGroupV264):
        policy = body.policy
        rules = {}
        if body.rules and body.rules.max_server_per_host is not None:
            rules["max_server_per_host"] = int(body.rules.max_server_per_host)
    else:
        policy, rules = body.policies[0], {}
    context = caller(request)
    async with writing(request) as session:
        group = await server_groups.create(
            session,
            project_id=context.project_id or "",
            user_id=context.user_id,
            name=body.name,
            policy=policy,
            rules=rules,
        )
        return await _shown(request, session, group)


async def delete_group(request: Request) -> Response:
    async with writing(request) as session:
        group = await server_groups.get(session, request.path_params["id"], _scope(request))
        authorize(request, f"{RULE}:delete", project_id=group.project_id)
        await server_groups.delete(session, group)
    return Response(status_code=204)
