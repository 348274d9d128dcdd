"""/v3/roles (global and domain-specific), implied roles and /v3/role_inferences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, base_url, db
from nimbus.api.identity import targets, views
from nimbus.api.identity.resource import Kind, session_for
from nimbus.api.identity.schemas import (
    RoleCreateBody,
    RoleUpdate,
    RoleUpdateBody,
    apply_changes,
    split_extra,
)
from nimbus.db.models.identity import GLOBAL_ROLE, Role
from nimbus.errors import BadRequest
from nimbus.identity import assignments, projects, roles

COLUMNS = {"name", "description", "options", "domain_id"}


def _rule(action: str, domain_id: str | None) -> str:
    """Domain-specific roles have rules of their own (identity:get_domain_role...)."""
    specific = domain_id not in (None, GLOBAL_ROLE)
    return f"identity:{action}_domain_role" if specific else f"identity:{action}_role"


ROLE = Kind(
    "role",
    roles.get_role,
    views.role,
    targets.role,
    rule=lambda action, row: _rule(action, row.domain_id),
)


async def list_roles(request: Request) -> Response:
    """Global roles, or with ?domain_id those of that domain; ?name filters."""
    domain_id = request.query_params.get("domain_id")
    authorize(request, "identity:list_domain_roles" if domain_id else "identity:list_roles")
    async with db(request).reader() as session:
        rows = await roles.list_roles(
            session, name=request.query_params.get("name"), domain_id=domain_id or GLOBAL_ROLE
        )
    return ROLE.listing(request, rows)


async def create_role(request: Request) -> Response:
    body = (await parse(request, RoleCreateBody)).role
    authorize(
        request,
        _rule("create", body.domain_id),
        role={"name": body.name, "domain_id": body.domain_id},
    )
    _, extra = split_extra(body.model_dump(exclude_unset=True), COLUMNS)
    async with db(request).transaction() as session:
        if body.domain_id:
            await projects.get_domain(session, body.domain_id)
        row = await roles.create_role(
            session,
            name=body.name,
            domain_id=body.domain_id,
            description=body.description,
            options=body.options or {},
            extra=extra,
        )
    return ROLE.respond(request, row, status=201)


show_role = ROLE.show


async def _change(session: AsyncSession, row: Role, body: RoleUpdate) -> None:
    if "domain_id" in body.model_fields_set and (body.domain_id or GLOBAL_ROLE) != row.domain_id:
        raise BadRequest("Update of `domain_id` is not allowed.")
    apply_changes(row, body, COLUMNS, skip=frozenset({"domain_id", "options"}))
    if body.options is not None:
        row.options = {**row.options, **body.options}
    await roles.save_role(session, row)


async def update_role(request: Request) -> Response:
    return await ROLE.update(request, RoleUpdateBody, _change)


async def delete_role(request: Request) -> Response:
    return await ROLE.delete(request, roles.delete_role)


# -- implied roles ---------------------------------------------------------------------


#: What a handler does with the prior and implied roles of its URL.
PairAction = Callable[[AsyncSession, Role, Role], Awaitable[object]]


async def _pair(request: Request, rule: str, act: PairAction, *, write: bool) -> tuple[Role, Role]:
    """Apply `act` to the prior and implied roles of the URL (404 for either missing)."""
    async with session_for(request, write=write) as session:
        prior = await roles.get_role(session, request.path_params["prior_role_id"])
        implied = await roles.get_role(session, request.path_params["implied_role_id"])
        authorize(request, rule)
        await act(session, prior, implied)
    return prior, implied


async def _implication(session: AsyncSession, prior: Role, implied: Role) -> None:
    await roles.get_implication(session, prior.id, implied.id)


async def _unimply(session: AsyncSession, prior: Role, implied: Role) -> None:
    await roles.unimply(session, prior.id, implied.id)


def _inference(
    request: Request, prior: Role, implies: Role | list[Role], status: int = 200
) -> Response:
    body = views.role_inference(base_url(request), prior, implies, path=request.url.path)
    return json_response(body, status=status)


async def list_implied_roles(request: Request) -> Response:
    async with db(request).reader() as session:
        prior = await roles.get_role(session, request.path_params["prior_role_id"])
        authorize(request, "identity:list_implied_roles")
        implied = await roles.implied_roles(session, prior.id)
    return _inference(request, prior, implied)


async def show_implied_role(request: Request) -> Response:
    rule = "identity:get_implied_role"
    return _inference(request, *await _pair(request, rule, _implication, write=False))


async def check_implied_role(request: Request) -> Response:
    """HEAD answers 204, not 200: upstream's documented (if odd) contract."""
    await _pair(request, "identity:check_implied_role", _implication, write=False)
    return no_content()


async def create_implied_role(request: Request) -> Response:
    prior, implied = await _pair(request, "identity:create_implied_role", roles.imply, write=True)
    return _inference(request, prior, implied, status=201)


async def delete_implied_role(request: Request) -> Response:
    await _pair(request, "identity:delete_implied_role", _unimply, write=True)
    return no_content()


async def list_role_inferences(request: Request) -> Response:
    """Every prior role with the roles it implies directly."""
    authorize(request, "identity:list_role_inference_rules")
    async with db(request).reader() as session:
        rules = await roles.inference_rules(session)
        mentioned = set(rules).union(*rules.values())
        by_id = {r.id: r for r in await assignments.roles_by_id(session, mentioned)}
    base = base_url(request)
    inferences = [
        views.role_inference(base, by_id[prior], [by_id[i] for i in implied])
        for prior, implied in rules.items()
    ]
    return json_response({"role_inferences": inferences})
