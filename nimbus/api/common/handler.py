"""What every handler needs from its request: the database, the caller, the policy."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from nimbus.api.common.policy import PolicyNotAuthorized
from nimbus.context import RequestContext
from nimbus.db.engine import Database
from nimbus.errors import Forbidden


def db(request: Request) -> Database:
    return request.app.state.db


def caller(request: Request) -> RequestContext:
    return request.state.context


def policy_target(
    request: Request, target: dict[str, Any], top: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The target as Keystone builds it: the URL's path parameters at the top level
    (rules such as `owner` read `%(user_id)s`), overridden by `top` where the real
    owner comes from the database, and the resource under `target`."""
    return {**request.path_params, **(top or {}), "target": target}


def authorize(
    request: Request, rule: str, top: dict[str, Any] | None = None, **target: Any
) -> None:
    """Check `rule` for the caller against `target` (exposed to rules as target.*)."""
    context = caller(request)
    try:
        request.app.state.policy.authorize(
            rule, policy_target(request, target, top), context.credentials()
        )
    except PolicyNotAuthorized:
        raise Forbidden(
            f"You are not authorized to perform the requested action: {rule}."
        ) from None


def allowed(request: Request, rule: str, **target: Any) -> bool:
    """Like authorize, but answers instead of refusing (for filtering lists)."""
    context = caller(request)
    return request.app.state.policy.allowed(
        rule, policy_target(request, target), context.credentials()
    )


def base_url(request: Request) -> str:
    """The URL the client used to reach this service, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def query_bool(request: Request, name: str) -> bool | None:
    """A boolean query filter as Keystone reads them (absent → None)."""
    value = request.query_params.get(name)
    if value is None:
        return None
    return value.lower() not in ("0", "false", "f", "no", "n", "off")
