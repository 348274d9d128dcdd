"""/v3/users and a user's own password change."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content, public
from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, base_url, caller, db, query_bool
from nimbus.api.identity import views
from nimbus.api.identity.schemas import (
    PasswordChangeBody,
    UserCreateBody,
    UserUpdateBody,
    split_extra,
)
from nimbus.errors import BadRequest
from nimbus.identity import users
from nimbus.identity.projects import DEFAULT_DOMAIN_ID

COLUMNS = {"name", "enabled", "password", "default_project_id", "domain_id", "options"}


async def list_users(request: Request) -> Response:
    query = request.query_params
    domain_id = query.get("domain_id")
    authorize(request, "identity:list_users", domain_id=domain_id)
    async with db(request).reader() as session:
        rows = await users.list_users(
            session,
            name=query.get("name"),
            domain_id=domain_id,
            enabled=query_bool(request, "enabled"),
        )
    base = base_url(request)
    items = [views.user(base, row) for row in rows]
    return json_response(views.collection(base, "/v3/users", "users", items))


async def create_user(request: Request) -> Response:
    body = (await parse(request, UserCreateBody)).user
    context = caller(request)
    domain_id = body.domain_id or context.domain_id or context.project_domain_id
    domain_id = domain_id or DEFAULT_DOMAIN_ID
    authorize(request, "identity:create_user", user={"domain_id": domain_id})
    known, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    async with db(request).transaction() as session:
        row = await users.create_user(
            session,
            name=body.name,
            domain_id=domain_id,
            password=body.password,
            enabled=known.get("enabled", True),
            default_project_id=body.default_project_id,
            options=body.options or {},
            extra=extra,
        )
    return json_response({"user": views.user(base_url(request), row)}, status=201)


async def show_user(request: Request) -> Response:
    async with db(request).reader() as session:
        row = await users.get_user(session, request.path_params["user_id"])
    authorize(request, "identity:get_user", user={"id": row.id, "domain_id": row.domain_id})
    return json_response({"user": views.user(base_url(request), row)})


async def update_user(request: Request) -> Response:
    body = (await parse(request, UserUpdateBody)).user
    known, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    async with db(request).transaction() as session:
        row = await users.get_user(session, request.path_params["user_id"])
        authorize(request, "identity:update_user", user={"id": row.id, "domain_id": row.domain_id})
        if known.get("domain_id", row.domain_id) != row.domain_id:
            raise BadRequest("Cannot change the domain_id of a user.")
        if "name" in known and known["name"] is not None:
            row.name = known["name"]
        if "default_project_id" in known:
            row.default_project_id = known["default_project_id"]
        if known.get("options") is not None:
            row.options = {**row.options, **known["options"]}
        if known.get("enabled") is not None:
            await users.set_enabled(session, row, known["enabled"])
        if known.get("password") is not None:
            await users.set_password(session, row, known["password"])
        if extra:
            row.extra = {**row.extra, **extra}
        await session.flush()
    return json_response({"user": views.user(base_url(request), row)})


async def delete_user(request: Request) -> Response:
    async with db(request).transaction() as session:
        row = await users.get_user(session, request.path_params["user_id"])
        authorize(request, "identity:delete_user", user={"id": row.id, "domain_id": row.domain_id})
        await users.delete_user(session, row)
    return no_content()


@public
async def change_password(request: Request) -> Response:
    """A user changes their own password. As upstream, no token is needed: the original
    password is the proof (a user whose password expired has no way to get a token)."""
    body = (await parse(request, PasswordChangeBody)).user
    user_id = request.path_params["user_id"]
    async with db(request).transaction() as session:
        row = await users.get_user(session, user_id)
        await users.change_password(session, row, body.original_password, body.password)
    return no_content()
