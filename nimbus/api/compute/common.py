"""What every compute handler shares: microversions, bodies, policy, paging, links.

Nova words its errors its own way ("Invalid input for field/attribute flavor. Value:
…", "Policy doesn't allow os_compute_api:… to be performed.") and pages collections
with ``limit``/``marker`` and a ``<collection>_links`` next link; those rules live here
once so that each resource module only says what is particular to it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common import handler
from nimbus.api.common.body import read_json
from nimbus.api.common.microversion import (
    Handler,
    Microversions,
    Version,
    by_version,
    version_of,
)
from nimbus.context import RequestContext
from nimbus.errors import BadRequest, Forbidden, NimbusError, NotAcceptable, NotFound

#: Where the v2.1 API is mounted (the catalog URL ends with it).
API_ROOT = "/v2.1"
#: Nova's osapi_max_limit: the largest page any collection returns.
MAX_LIMIT = 1000

Model = TypeVar("Model", bound=BaseModel)


class ComputeMicroversions(Microversions):
    """The negotiation of `Microversions`, with Nova's error wording."""

    def negotiate(self, headers: Headers) -> Version:
        text = self.requested(headers)
        if text is None:
            return self.minimum
        if text.lower() == "latest":
            return self.maximum
        try:
            version = Version.parse(text)
        except ValueError:
            raise BadRequest(
                f"API Version String {text} is of invalid format. Must be of format "
                "MajorNum.MinorNum."
            ) from None
        if not self.minimum <= version <= self.maximum:
            raise NotAcceptable(
                f"Version {text} is not supported by the API. Minimum is {self.minimum} "
                f"and maximum is {self.maximum}."
            )
        return version


#: The range this compute API speaks (upstream Nova 34's; openstacksdk 4.22 asks for at
#: most 2.100).
VERSIONS = ComputeMicroversions(
    "compute", Version(2, 1), Version(2, 104), legacy_headers=("x-openstack-nova-api-version",)
)


def version(request: Request) -> Version:
    return version_of(request)


def at_least(request: Request, wanted: str) -> bool:
    """Whether the request's microversion is `wanted` ("2.55") or newer."""
    return version(request) >= Version.parse(wanted)


async def _gone(request: Request) -> Response:
    raise NotFound("The resource could not be found.")


def until(last: str, handler: Handler) -> Handler:
    """`handler` up to microversion `last` inclusive, 404 after it (upstream's
    ``api_version(max_version=...)``)."""
    final = Version.parse(last)
    retiring = by_version(("2.1", handler), (Version(final.major, final.minor + 1), _gone))
    retiring.retired = True  # type: ignore[attr-defined]
    return retiring


Choice = TypeVar("Choice")


def newest(request: Request, choices: Sequence[tuple[str, Choice]]) -> Choice:
    """The choice of the newest version in `choices` that the request reaches (a body
    schema per microversion, say); `choices` must include "2.1"."""
    return max(
        ((Version.parse(v), c) for v, c in choices if at_least(request, v)), key=lambda vc: vc[0]
    )[1]


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def is_uuid_like(value: str) -> bool:
    """oslo's is_uuid_like: 32 hex digits, dashed or not."""
    return _UUID.fullmatch(value) is not None


def path_id(
    request: Request, not_integer: Callable[[str], NimbusError], *, name: str = "id"
) -> int | str:
    """A path id that is a uuid from 2.53 (400 otherwise) and a row id before it
    (`not_integer` says what a non-integer is then: upstream varies per resource)."""
    text = request.path_params[name]
    if at_least(request, "2.53"):
        if not is_uuid_like(text):
            raise BadRequest(f"Invalid uuid {text}")
        return text
    try:
        return int(text)
    except ValueError:
        raise not_integer(text) from None


def caller(request: Request) -> RequestContext:
    return handler.caller(request)


def authorize(request: Request, rule: str, **top: Any) -> None:
    """Check `rule`; `top` holds what rules read as ``%(project_id)s``/``%(user_id)s``
    (Nova's target: the owner of the resource, the caller's own by default)."""
    context = caller(request)
    target = {"project_id": context.project_id, "user_id": context.user_id, **top}
    try:
        handler.authorize(request, rule, top=target)
    except Forbidden:
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.") from None


def allowed(request: Request, rule: str, **top: Any) -> bool:
    """Like authorize, but answers instead of refusing (admin-only filters)."""
    try:
        authorize(request, rule, **top)
    except Forbidden:
        return False
    return True


# --- request bodies -------------------------------------------------------------------


def _at(data: Any, path: Sequence[Any]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _message(error: dict[str, Any], data: Any) -> str:
    """One pydantic error in the words of Nova's jsonschema validator: the innermost
    attribute, its value, and what is wrong with it."""
    loc = [part for part in error["loc"] if not isinstance(part, str) or "[" not in part]
    kind, field = error["type"], loc[-1] if loc else ""
    if kind == "extra_forbidden":
        path, text = loc[:-1], f"Additional properties are not allowed ('{field}' was unexpected)"
    elif kind == "missing":
        path, text = loc[:-1], f"'{field}' is a required property"
    else:
        path, text = loc, error["msg"]
    if not path:
        return text.encode("utf-8", "backslashreplace").decode()
    value = _at(data, path)
    message = f"Invalid input for field/attribute {path[-1]}. Value: {value}. {text}"
    # A lone surrogate the client sent cannot be encoded back into the JSON answer.
    return message.encode("utf-8", "backslashreplace").decode()


def validate(model: type[Model], data: Any) -> Model:
    """`data` as `model`; any mismatch is Nova's 400."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(_message(exc.errors()[0], data)) from None


async def body_of(request: Request) -> Any:
    """The decoded JSON body, read once per request (an action dispatcher reads it
    before the action's handler does)."""
    if not hasattr(request.state, "json_body"):
        request.state.json_body = await read_json(request)
    return request.state.json_body


async def parse(request: Request, model: type[Model]) -> Model:
    """The JSON body as `model` (400 when it does not fit)."""
    return validate(model, await body_of(request))


def actions(handlers: dict[str, Handler]) -> Handler:
    """The handler of ``POST …/action``: the body's one key names the action, as in
    Nova (``{"addTenantAccess": {...}}``); an unknown one is a 400."""

    async def dispatch(request: Request) -> Response:
        body = await body_of(request)
        if not isinstance(body, dict) or len(body) != 1:
            raise BadRequest("Malformed request body")
        (name,) = body
        handler_ = handlers.get(name)
        if handler_ is None:
            raise BadRequest(f"There is no such action: {name}")
        return await handler_(request)

    return dispatch


# --- database -------------------------------------------------------------------------


@asynccontextmanager
async def writing(request: Request) -> AsyncIterator[AsyncSession]:
    async with handler.db(request).transaction() as session:
        yield session


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    async with handler.db(request).reader() as session:
        yield session


# --- query strings, paging and links --------------------------------------------------

_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


def bool_from_string(value: str) -> bool | None:
    """oslo's bool_from_string: True, False, or None for anything else."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def query_bool(request: Request, name: str, *, strict: bool = True) -> bool | None:
    """A boolean query parameter as oslo reads it (absent → None); anything else is a
    400 when `strict`, False otherwise."""
    value = request.query_params.get(name)
    if value is None:
        return None
    parsed = bool_from_string(value)
    if parsed is None and strict:
        raise BadRequest(f"Invalid value '{value}' for {name}: it must be a boolean.")
    return bool(parsed)


def query_int(request: Request, name: str, *, minimum: int = 0) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer") from None
    if number < minimum:
        raise BadRequest(f"{name} param must be positive")
    return number


def limit_of(request: Request) -> int:
    """The page size asked for, capped at MAX_LIMIT as Nova does."""
    limit = query_int(request, "limit")
    return MAX_LIMIT if limit is None else min(limit, MAX_LIMIT)


def base_url(request: Request) -> str:
    return handler.base_url(request)


def links(request: Request, collection: str, ident: str) -> list[dict[str, str]]:
    """A resource's self link (versioned) and bookmark (unversioned), as Nova gives."""
    base = base_url(request)
    return [
        {"rel": "self", "href": f"{base}{API_ROOT}/{collection}/{ident}"},
        {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"},
    ]


def next_link(request: Request, path: str, marker: str) -> dict[str, str]:
    """The link to the page after `marker`, keeping the request's other parameters."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", marker))
    query = urlencode(params)
    return {"rel": "next", "href": f"{base_url(request)}{API_ROOT}/{path}?{query}"}


def paged(
    request: Request,
    key: str,
    items: list[dict[str, Any]],
    limit: int,
    *,
    path: str | None = None,
    marker_of: Callable[[dict[str, Any]], str] = lambda item: str(item["id"]),
) -> dict[str, Any]:
    """`{key: items}` plus `<key>_links` when the page is full (more may follow), its
    marker taken from the last item."""
    body: dict[str, Any] = {key: items}
    if items and len(items) == limit:
        body[f"{key}_links"] = [next_link(request, path or key, marker_of(items[-1]))]
    return body


def check_query(request: Request, known: Sequence[str], *, strict: bool) -> None:
    """Refuse query parameters a schema does not name, where Nova's does (from the
    microversion that set ``additionalProperties: false``); ignore them before."""
    if not strict:
        return
    for name in request.query_params:
        if name not in known:
            raise BadRequest(f"Additional properties are not allowed ('{name}' was unexpected)")


def query_choice(request: Request, name: str, choices: Sequence[str], default: str) -> str:
    """A query parameter limited to `choices` (Nova's enum), `default` when absent."""
    value = request.query_params.get(name)
    if value is None:
        return default
    if value not in choices:
        raise BadRequest(
            f"Invalid input for query parameters {name}. Value: {value}. "
            f"'{value}' is not one of {list(choices)}"
        )
    return value
