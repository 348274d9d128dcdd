"""What every network handler shares: the caller's scope, Neutron's policy targets,
bodies in Neutron's envelope (`{"network": {...}}`, `{"networks": [...]}` in bulk)
and writes that run again when a concurrent allocation won the race."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from nimbus.api.common.body import read_json
from nimbus.api.common.handler import caller, db
from nimbus.api.common.policy import Enforcer
from nimbus.api.network.policies import DEFAULTS
from nimbus.errors import BadRequest
from nimbus.network import errors, transactions
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

Model = TypeVar("Model", bound=BaseModel)
Result = TypeVar("Result")


def scope(request: Request) -> Scope:
    context = caller(request)
    return Scope(project_id=context.project_id or "", admin="admin" in context.roles)


def options(request: Request) -> NetworkOptions:
    return request.app.state.network_options


def target(project_id: str, **attributes: Any) -> dict[str, Any]:
    """Neutron's policy target: the attributes and the owner under both names."""
    return {**attributes, "project_id": project_id, "tenant_id": project_id}


def _policy(request: Request) -> Enforcer:
    return request.app.state.policy


def allowed(request: Request, action: str, policy_target: dict[str, Any]) -> bool:
    return _policy(request).allowed(action, policy_target, caller(request).credentials())


def authorize(request: Request, action: str, policy_target: dict[str, Any]) -> None:
    if not allowed(request, action, policy_target):
        raise errors.PolicyNotAuthorized(action=action)


def authorize_attributes(
    request: Request,
    action: str,
    given: dict[str, Any],
    policy_target: dict[str, Any],
    defaults: dict[str, Any] | None = None,
) -> None:
    """Check `action:attribute` for each attribute the request sets (on create: to a
    value other than its default), where such a rule exists."""
    for name, value in given.items():
        if defaults is not None and defaults.get(name, object()) == value:
            continue
        rule = f"{action}:{name}"
        if rule in DEFAULTS:
            authorize(request, rule, policy_target)


def hide_attributes(
    request: Request, resource: str, document: dict[str, Any], policy_target: dict[str, Any]
) -> dict[str, Any]:
    """The document without the attributes the caller may not read (get_port:binding:...)."""
    hidden = [
        name
        for name in document
        if f"get_{resource}:{name}" in DEFAULTS
        and not allowed(request, f"get_{resource}:{name}", policy_target)
    ]
    for name in hidden:
        del document[name]
    return document


def owner(request: Request, given: BaseModel) -> str:
    """The project a new resource belongs to: the body's project_id/tenant_id (which
    must agree), else the caller's."""
    project = getattr(given, "project_id", None)
    tenant = getattr(given, "tenant_id", None)
    if project and tenant and project != tenant:
        raise errors.InvalidInput(error_message="'project_id' and 'tenant_id' do not match")
    return project or tenant or caller(request).project_id or ""


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = "/".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "extra_forbidden":
        return f"Unrecognized attribute(s) '{where}'"
    if first["type"] == "missing":
        return f"Failed to parse request. Required attribute '{where}' not specified"
    return f"Invalid input for {where}. Reason: {first['msg']}."


def validate(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(_describe(exc)) from None


async def parse_one(request: Request, resource: str, model: type[Model]) -> Model:
    """The body `{resource: {...}}` checked against `model`."""
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get(resource), dict):
        raise BadRequest(f"Resource body required: '{resource}' was not found in the body")
    return validate(model, body[resource])


async def parse_many(
    request: Request, resource: str, collection: str, model: type[Model]
) -> tuple[list[Model], bool]:
    """`{resource: {...}}` or, in bulk, `{collection: [{...}, ...]}`; and whether bulk."""
    body = await read_json(request)
    if isinstance(body, dict) and isinstance(body.get(collection), list) and body[collection]:
        return [validate(model, item) for item in body[collection]], True
    if not isinstance(body, dict) or not isinstance(body.get(resource), dict):
        raise BadRequest(f"Resource body required: '{resource}' was not found in the body")
    return [validate(model, body[resource])], False


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    async with db(request).reader() as session:
        yield session


async def write(request: Request, work: Callable[[AsyncSession], Awaitable[Result]]) -> Result:
    """`work` in one transaction: all of it or none of it, run again on a lost race."""
    return await transactions.retrying(db(request), work)


def set_fields(given: BaseModel, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The attributes the body set, by their API names (aliases such as router:external)."""
    values = given.model_dump(by_alias=True, exclude_unset=True)
    if names is not None:
        wanted = set(names)
        values = {k: v for k, v in values.items() if k in wanted}
    return values


def authorize_on(
    request: Request,
    action: str,
    resource: str,
    policy_target: dict[str, Any],
    missing: errors.NeutronError,
) -> None:
    """Check `action`; a caller who may not even read the resource gets `missing`
    (404), never 403, so that other projects' resources stay invisible."""
    if allowed(request, action, policy_target):
        return
    if allowed(request, f"get_{resource}", policy_target):
        raise errors.PolicyNotAuthorized(action=action)
    raise missing
