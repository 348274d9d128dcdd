"""/v3/groups, their members, and /v3/users/{user_id}/groups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, base_url, caller, db, query_bool
from nimbus.api.identity import targets, views
from nimbus.api.identity.resource import Kind, session_for
from nimbus.api.identity.schemas import GroupCreateBody, GroupUpdate, GroupUpdateBody, apply_changes
from nimbus.db.models.identity import Group
from nimbus.errors import BadRequest
from nimbus.identity import groups, users
from nimbus.identity.projects import DEFAULT_DOMAIN_ID

COLUMNS = {"name", "description", "domain_id"}
GROUP = Kind("group", groups.get_group, views.group, targets.group)


def _own_domain(request: Request, rows: list[Any]) -> list[Any]:
    """What a domain-scoped caller may see of a listing: its own domain's rows."""
    own = targets.caller_domain(request)
    return [r for r in rows if own is None or r.domain_id == own]


async def list_groups(request: Request) -> Response:
    own = targets.caller_domain(request)
    authorize(request, "identity:list_groups", **({"group": {"domain_id": own}} if own else {}))
    async with db(request).reader() as session:
        rows = await groups.list_groups(
            session,
            name=request.query_params.get("name"),
            domain_id=request.query_params.get("domain_id"),
        )
    return GROUP.listing(request, _own_domain(request, rows))


async def create_group(request: Request) -> Response:
    body = (await parse(request, GroupCreateBody)).group
    context = caller(request)
    domain_id = (
        body.domain_id or context.domain_id or context.project_domain_id or DEFAULT_DOMAIN_ID
    )
    authorize(request, "identity:create_group", group={"domain_id": domain_id})
    async with db(request).transaction() as session:
        row = await groups.create_group(
            session,
            name=body.name,
            domain_id=domain_id,
            description=body.description or "",
            extra=body.model_dump(exclude_unset=True, exclude=COLUMNS),
        )
    return GROUP.respond(request, row, status=201)


show_group = GROUP.show


async def _change(session: AsyncSession, row: Group, body: GroupUpdate) -> None:
    if body.domain_id not in (None, row.domain_id):
        raise BadRequest("Cannot change Domain ID")
    apply_changes(row, body, COLUMNS, skip=frozenset({"domain_id"}))
    await groups.save_group(session, row)


async def update_group(request: Request) -> Response:
    return await GROUP.update(request, GroupUpdateBody, _change)


async def delete_group(request: Request) -> Response:
    return await GROUP.delete(request, groups.delete_group)


async def list_members(request: Request) -> Response:
    query = request.query_params
    async with db(request).reader() as session:
        row = await GROUP.load(session, request, "list", rule="identity:list_users_in_group")
        rows = await groups.members(
            session,
            row.id,
            name=query.get("name"),
            domain_id=query.get("domain_id"),
            enabled=query_bool(request, "enabled"),
        )
    base = base_url(request)
    items = [views.user(base, u) for u in _own_domain(request, rows)]
    return json_response(views.collection(base, request.url.path, "users", items))


async def _membership(
    request: Request,
    rule: str,
    act: Callable[[AsyncSession, str, str], Awaitable[None]],
    *,
    write: bool = True,
) -> Response:
    """Apply `act` to the group and user of the URL (404 for either missing)."""
    async with session_for(request, write=write) as session:
        group = await groups.get_group(session, request.path_params["group_id"])
        user = await users.get_user(session, request.path_params["user_id"])
        authorize(request, rule, group=targets.group(group), user=targets.user(user))
        await act(session, group.id, user.id)
    return no_content()


async def check_member(request: Request) -> Response:
    rule = "identity:check_user_in_group"
    return await _membership(request, rule, groups.check_member, write=False)


async def add_member(request: Request) -> Response:
    return await _membership(request, "identity:add_user_to_group", groups.add_member)


async def remove_member(request: Request) -> Response:
    return await _membership(request, "identity:remove_user_from_group", groups.remove_member)


async def list_user_groups(request: Request) -> Response:
    """The groups a user is in (Keystone adds when each membership expires: never here)."""
    user_id = request.path_params["user_id"]
    async with db(request).reader() as session:
        user = await users.get_user(session, user_id)
        authorize(
            request,
            "identity:list_groups_for_user",
            top={"user_id": user_id},
            user=targets.user(user),
        )
        rows = await groups.groups_of_user(session, user.id, name=request.query_params.get("name"))
    base = base_url(request)
    items = [
        {**views.group(base, g), "membership_expires_at": None} for g in _own_domain(request, rows)
    ]
    return json_response(views.collection(base, request.url.path, "groups", items))
