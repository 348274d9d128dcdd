"""Role grants, for every actor (user, group) on every target (project, domain, system).

One set of handlers serves all the grant URLs: what a URL names is read from its path
parameters (project_id / domain_id / neither for the system; user_id / group_id), and
a path ending in /inherited_to_projects (the OS-INHERIT routes) makes the grant
inherited, as Keystone itself decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.handler import authorize, base_url, db
from nimbus.api.identity import targets, views
from nimbus.db.models.identity import Project, Role
from nimbus.identity import assignments, groups, projects, roles, users
from nimbus.identity.assignments import SYSTEM, Grant

INHERITED_SUFFIX = "/inherited_to_projects"


def _grant(request: Request) -> Grant:
    """The grant a URL names (role_id is "" on the listing URLs)."""
    params = request.path_params
    actor = "user" if "user_id" in params else "group"
    if "project_id" in params:
        target, target_id = "project", params["project_id"]
    elif "domain_id" in params:
        target, target_id = "domain", params["domain_id"]
    else:
        target, target_id = "system", SYSTEM
    return Grant(
        actor=actor,
        actor_id=params[f"{actor}_id"],
        target=target,
        target_id=target_id,
        role_id=params.get("role_id", ""),
        inherited=request.url.path.endswith(INHERITED_SUFFIX),
    )


def _rule(grant: Grant, action: str) -> str:
    """Keystone's rule: system grants have rules per actor, the others share four."""
    if grant.target == "system":
        if action == "list":
            return f"identity:list_system_grants_for_{grant.actor}"
        return f"identity:{action}_system_grant_for_{grant.actor}"
    return "identity:list_grants" if action == "list" else f"identity:{action}_grant"


@dataclass(frozen=True)
class _Resolved:
    """The rows a grant URL names, looked up (404 for any that is missing)."""

    grant: Grant
    role: Role | None
    project: Project | None


async def _resolve(session: AsyncSession, request: Request, action: str) -> _Resolved:
    """Look up the role, actor and target of the URL, then check `action`'s rule."""
    grant = _grant(request)
    target: dict[str, Any] = {}
    role = None
    if grant.role_id:
        role = await roles.get_role(session, grant.role_id)
        target["role"] = targets.role(role)
    if grant.actor == "user":
        target["user"] = targets.user(await users.get_user(session, grant.actor_id))
    else:
        target["group"] = targets.group(await groups.get_group(session, grant.actor_id))
    project = None
    if grant.target == "project":
        project = await projects.get_project(session, grant.target_id)
        target["project"] = targets.project(project)
    elif grant.target == "domain":
        target["domain"] = targets.domain(await projects.get_domain(session, grant.target_id))
    authorize(request, _rule(grant, action), **target)
    return _Resolved(grant, role, project)


async def list_grants(request: Request) -> Response:
    """The roles granted to the actor on the target: {"roles": [...]}."""
    async with db(request).reader() as session:
        resolved = await _resolve(session, request, "list")
        rows = await assignments.roles_on(session, resolved.grant)
    base = base_url(request)
    items = [views.role(base, r) for r in rows]
    return json_response(views.collection(base, request.url.path, "roles", items))


async def check_grant(request: Request) -> Response:
    async with db(request).reader() as session:
        resolved = await _resolve(session, request, "check")
        await assignments.check(session, resolved.grant)
    return no_content()


async def create_grant(request: Request) -> Response:
    """Grant the role; granting one already held is fine (204 again)."""
    async with db(request).transaction() as session:
        resolved = await _resolve(session, request, "create")
        assert resolved.role is not None
        assignments.check_assignable(resolved.grant, resolved.role, resolved.project)
        await assignments.add(session, resolved.grant)
    return no_content()


async def revoke_grant(request: Request) -> Response:
    async with db(request).transaction() as session:
        resolved = await _resolve(session, request, "revoke")
        await assignments.remove(session, resolved.grant)
    return no_content()
