"""GET /v3/role_assignments: who holds which role where, directly or effectively."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.common.handler import authorize, base_url, db
from nimbus.api.identity import targets, views
from nimbus.errors import BadRequest
from nimbus.identity import projects
from nimbus.identity.role_assignments import Query, list_assignments, names_of, within_domain

#: Filter pairs that can never both hold, with Keystone's complaint.
EXCLUSIVE = (
    ("scope.domain.id", "scope.project.id", "Specify a domain or project, not both"),
    ("scope.domain.id", "scope.system", "Specify system or domain, not both"),
    ("scope.project.id", "scope.system", "Specify system or project, not both"),
    ("user.id", "group.id", "Specify a user or group, not both"),
)


def flag(request: Request, name: str) -> bool:
    """Keystone's boolean query flags: present and not "0" means true (?effective)."""
    return request.query_params.get(name, "0") != "0"


def _query(request: Request) -> Query:
    """The filters of the request, refusing combinations Keystone refuses."""
    params = request.query_params
    for first, second, message in EXCLUSIVE:
        if params.get(first) and params.get(second):
            raise BadRequest(message)
    inherited_to = params.get("scope.OS-INHERIT:inherited_to")
    query = Query(
        role_id=params.get("role.id"),
        user_id=params.get("user.id"),
        group_id=params.get("group.id"),
        project_id=params.get("scope.project.id"),
        domain_id=params.get("scope.domain.id"),
        system=params.get("scope.system") == "all",
        inherited=None if inherited_to is None else inherited_to == "projects",
        effective=flag(request, "effective"),
        include_subtree=flag(request, "include_subtree"),
    )
    if query.effective and query.group_id:
        raise BadRequest(
            "Combining effective and group filter will always result in an empty list."
        )
    if query.effective and query.inherited and query.domain_id:
        raise BadRequest(
            "Combining effective, domain and inherited filters will always result in an empty list."
        )
    return query


async def _authorize(request: Request, query: Query) -> None:
    """list_role_assignments, or for a subtree list_role_assignments_for_tree on its root."""
    own = targets.caller_domain(request)
    if not query.include_subtree:
        authorize(request, "identity:list_role_assignments", **({"domain_id": own} if own else {}))
        return
    target: dict[str, Any] = {}
    if query.project_id:
        async with db(request).reader() as session:
            project = await projects.get_project(session, query.project_id)
        target = {"project": targets.project(project), "domain_id": project.domain_id}
    authorize(request, "identity:list_role_assignments_for_tree", **target)
    if not query.project_id:
        raise BadRequest("scope.project.id must be specified if include_subtree is also specified")


async def list_role_assignments(request: Request) -> Response:
    query = _query(request)
    await _authorize(request, query)
    own = targets.caller_domain(request)
    async with db(request).reader() as session:
        entries = await list_assignments(session, query)
        if own:
            entries = await within_domain(session, entries, own)
        names = await names_of(session, entries) if flag(request, "include_names") else None
    base = base_url(request)
    items = [views.role_assignment(base, e, names) for e in entries]
    return json_response(views.collection(base, "/v3/role_assignments", "role_assignments", items))
