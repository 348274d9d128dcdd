"""/v3/projects and /v3/users/{user_id}/projects."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, base_url, caller, db, query_bool
from nimbus.api.identity import views
from nimbus.api.identity.schemas import ProjectCreateBody, ProjectUpdateBody, split_extra
from nimbus.db.lookup import flush_unique
from nimbus.db.models.identity import Project
from nimbus.errors import BadRequest
from nimbus.identity import assignments, projects, revocation, users

COLUMNS = {"name", "description", "enabled", "domain_id", "parent_id", "is_domain", "tags"}


async def render_tagged(
    request: Request, rows: list[Project], view: Callable[[str, Project, list[str]], dict]
) -> list[dict]:
    """Rows rendered with `view`, their tags fetched in one query (projects and domains)."""
    async with db(request).reader() as session:
        tags = await projects.tags_of(session, [p.id for p in rows])
    base = base_url(request)
    return [view(base, p, tags[p.id]) for p in rows]


async def _render(request: Request, rows: list[Project]) -> list[dict]:
    return await render_tagged(request, rows, views.project)


async def list_projects(request: Request) -> Response:
    query = request.query_params
    domain_id = query.get("domain_id")
    authorize(request, "identity:list_projects", domain_id=domain_id)
    async with db(request).reader() as session:
        rows = await projects.list_projects(
            session,
            name=query.get("name"),
            domain_id=domain_id,
            parent_id=query.get("parent_id"),
            enabled=query_bool(request, "enabled"),
            is_domain=bool(query_bool(request, "is_domain")),
        )
        if "tags" in query:
            wanted = set(query["tags"].split(","))
            tags = await projects.tags_of(session, [p.id for p in rows])
            rows = [p for p in rows if wanted <= set(tags[p.id])]
    items = await _render(request, rows)
    return json_response(views.collection(base_url(request), "/v3/projects", "projects", items))


async def create_project(request: Request) -> Response:
    body = (await parse(request, ProjectCreateBody)).project
    domain_id = body.domain_id
    if not domain_id and body.parent_id:
        async with db(request).reader() as session:
            domain_id = await projects.domain_of_parent(session, body.parent_id)
    domain_id = domain_id or caller(request).domain_id or caller(request).project_domain_id
    authorize(request, "identity:create_project", project={"domain_id": domain_id})
    known, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    async with db(request).transaction() as session:
        if body.is_domain:
            row = await projects.create_domain(
                session,
                name=body.name,
                description=body.description or "",
                enabled=known.get("enabled", True),
                extra=extra,
            )
        else:
            row = await projects.create_project(
                session,
                name=body.name,
                domain_id=domain_id,
                parent_id=body.parent_id,
                tags=body.tags,
                description=body.description or "",
                enabled=known.get("enabled", True),
                extra=extra,
            )
    (item,) = await _render(request, [row])
    return json_response({"project": item}, status=201)


async def show_project(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    async with db(request).reader() as session:
        row = await projects.get_project(session, project_id, include_domains=True)
    authorize(request, "identity:get_project", project={"id": row.id, "domain_id": row.domain_id})
    (item,) = await _render(request, [row])
    return json_response({"project": item})


async def update_project(request: Request) -> Response:
    body = (await parse(request, ProjectUpdateBody)).project
    known, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    async with db(request).transaction() as session:
        row = await projects.get_project(
            session, request.path_params["project_id"], include_domains=True
        )
        authorize(request, "identity:update_project", project={"domain_id": row.domain_id})
        if known.get("domain_id", row.domain_id) != row.domain_id:
            raise BadRequest("Cannot change the domain_id of a project.")
        if known.get("is_domain", False):
            raise BadRequest("Cannot turn a project into a domain.")
        if known.get("enabled") is False and row.enabled:
            await revocation.revoke_project(session, row.id)
        for name in ("name", "description", "enabled"):
            if name in known and known[name] is not None:
                setattr(row, name, known[name])
        if extra:
            row.extra = {**row.extra, **extra}
        if body.tags is not None:
            await projects.set_tags(session, row.id, body.tags)
        await flush_unique(
            session,
            f"Conflict occurred attempting to store project - Duplicate entry found with "
            f"name {row.name} at domain ID {row.domain_id}.",
        )
    (item,) = await _render(request, [row])
    return json_response({"project": item})


async def delete_project(request: Request) -> Response:
    async with db(request).transaction() as session:
        row = await projects.get_project(
            session, request.path_params["project_id"], include_domains=True
        )
        authorize(request, "identity:delete_project", project={"domain_id": row.domain_id})
        await revocation.revoke_project(session, row.id)
        if row.is_domain:
            await projects.delete_domain(session, row)
        else:
            await projects.delete_project(session, row)
    return no_content()


async def list_user_projects(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    async with db(request).reader() as session:
        user = await users.get_user(session, user_id)
        authorize(
            request,
            "identity:list_user_projects",
            user={"id": user.id, "domain_id": user.domain_id},
        )
        rows = await assignments.projects_of_user(session, user.id)
    items = await _render(request, rows)
    path = f"/v3/users/{user_id}/projects"
    return json_response(views.collection(base_url(request), path, "projects", items))
