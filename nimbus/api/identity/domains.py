"""/v3/domains: domains are projects acting as domains, shown without project fields."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, base_url, db, query_bool
from nimbus.api.identity import targets, views
from nimbus.api.identity.projects import render_tagged
from nimbus.api.identity.schemas import (
    DomainCreateBody,
    DomainUpdateBody,
    apply_changes,
    split_extra,
)
from nimbus.db.models.identity import Project
from nimbus.identity import projects

COLUMNS = {"name", "description", "enabled", "tags", "explicit_domain_id"}


async def _render(request: Request, rows: list[Project]) -> list[dict]:
    return await render_tagged(request, rows, views.domain)


async def list_domains(request: Request) -> Response:
    """All domains; a domain-scoped caller sees (at most) its own, as upstream."""
    own = targets.caller_domain(request)
    authorize(request, "identity:list_domains", **({"domain": {"id": own}} if own else {}))
    async with db(request).reader() as session:
        rows = await projects.list_domains(
            session,
            name=request.query_params.get("name"),
            enabled=query_bool(request, "enabled"),
            id=own,
        )
    items = await _render(request, rows)
    return json_response(views.collection(base_url(request), "/v3/domains", "domains", items))


async def create_domain(request: Request) -> Response:
    body = (await parse(request, DomainCreateBody)).domain
    authorize(request, "identity:create_domain")
    known, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    fields = {"id": body.explicit_domain_id} if body.explicit_domain_id else {}
    async with db(request).transaction() as session:
        row = await projects.create_domain(
            session,
            name=body.name,
            description=body.description or "",
            enabled=known.get("enabled", True),
            extra=extra,
            **fields,
        )
        await projects.set_tags(session, row.id, body.tags or [])
    (item,) = await _render(request, [row])
    return json_response({"domain": item}, status=201)


async def show_domain(request: Request) -> Response:
    async with db(request).reader() as session:
        row = await projects.get_domain(session, request.path_params["domain_id"])
    authorize(request, "identity:get_domain", domain=targets.domain(row))
    (item,) = await _render(request, [row])
    return json_response({"domain": item})


async def update_domain(request: Request) -> Response:
    body = (await parse(request, DomainUpdateBody)).domain
    async with db(request).transaction() as session:
        row = await projects.get_domain(session, request.path_params["domain_id"])
        authorize(request, "identity:update_domain", domain=targets.domain(row))
        apply_changes(row, body, COLUMNS, skip=frozenset({"tags"}))
        await projects.save_domain(session, row)
        if body.tags is not None:
            await projects.set_tags(session, row.id, body.tags)
    (item,) = await _render(request, [row])
    return json_response({"domain": item})


async def delete_domain(request: Request) -> Response:
    """Delete a disabled domain and everything in it (an enabled one is a 403)."""
    async with db(request).transaction() as session:
        row = await projects.get_domain(session, request.path_params["domain_id"])
        authorize(request, "identity:delete_domain", domain=targets.domain(row))
        await projects.delete_domain(session, row)
    return no_content()
