"""What every placement handler shares: versions, bodies, policy, responses.

Placement words its errors its own way ("JSON does not validate: ...", "Invalid query
string parameters: ...", "Policy does not allow X to be performed."), answers 415 to a
body that is not declared JSON, and from microversion 1.15 marks every representation
with last-modified and cache-control: no-cache; those rules live here once.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from email.utils import format_datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common import handler
from nimbus.api.common.body import read_json
from nimbus.api.common.microversion import Microversions, Version, version_of
from nimbus.db.base import utcnow
from nimbus.db.engine import Database
from nimbus.errors import BadRequest, Forbidden, UnsupportedMediaType
from nimbus.placement.errors import ConcurrentUpdate
from nimbus.placement.transactions import serialized

#: The range this placement speaks (upstream's newest is 1.39).
VERSIONS = Microversions("placement", Version(1, 0), Version(1, 39))
LAST_MODIFIED_SINCE = (1, 15)
JSON = "application/json"

Choice = TypeVar("Choice")
Model = TypeVar("Model", bound=BaseModel)


def version(request: Request) -> Version:
    return version_of(request)


def pick(request: Request, choices: Mapping[tuple[int, int], Choice]) -> Choice:
    """The choice for the newest of `choices`' versions that the request's reaches."""
    current = version(request)
    return max(((v, c) for v, c in choices.items() if current >= v), key=lambda vc: vc[0])[1]


def db(request: Request) -> Database:
    return handler.db(request)


def authorize(request: Request, rule: str, **top: Any) -> None:
    """Check `rule`; `top` holds target values rules read as ``%(name)s``."""
    try:
        handler.authorize(request, rule, top=top)
    except Forbidden:
        raise Forbidden(f"Policy does not allow {rule} to be performed.") from None


def _describe(error: ValidationError) -> str:
    """One validation error, worded like upstream's jsonschema messages."""
    first = error.errors()[0]
    where = "/".join(str(part) for part in first["loc"])
    field = first["loc"][-1] if first["loc"] else ""
    if first["type"] == "missing":
        return f"'{field}' is a required property"
    if first["type"] == "extra_forbidden":
        return f"Additional properties are not allowed ('{field}' was unexpected)"
    return f"{first['input']!r} is not valid for '{where}': {first['msg']}"


async def parse(request: Request, model: type[Model]) -> Model:
    """The JSON body as `model`: 415 unless declared JSON, 400 when it does not fit."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared != "application/json":
        raise UnsupportedMediaType(
            f"The media type {declared or 'None'} is not supported, use application/json"
        )
    data = await read_json(request)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise BadRequest(f"JSON does not validate: {_describe(error)}") from None


def unexpected(name: str) -> BadRequest:
    """The error for a query parameter the version does not define."""
    return BadRequest(
        "Invalid query string parameters: Additional properties are not "
        f"allowed ('{name}' was unexpected)"
    )


def check_query(request: Request, allowed: Iterable[str]) -> None:
    """Refuse query parameters the version does not define, as upstream's schemas do."""
    known = set(allowed)
    for name in request.query_params:
        if name not in known:
            raise unexpected(name)


def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def normal_uuid(value: str) -> str:
    """The dashed, lower-case spelling of a UUID the client may have written otherwise."""
    return str(uuidlib.UUID(value))


def _marked(request: Request, modified: datetime | None) -> dict[str, str]:
    if version(request) < LAST_MODIFIED_SINCE:
        return {}
    moment = modified or utcnow()
    return {"last-modified": format_datetime(moment, usegmt=True), "cache-control": "no-cache"}


def respond(
    request: Request,
    body: Any,
    status: int = 200,
    *,
    modified: datetime | None = None,
    location: str | None = None,
) -> Response:
    """A JSON representation (with 1.15's caching headers)."""
    headers = _marked(request, modified)
    if location:
        headers["location"] = location
    # orjson writes the same compact UTF-8 JSON as Starlette's JSONResponse, several
    # times faster: candidate lists run to hundreds of kilobytes.
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=JSON)


def no_body(status: int = 204, *, location: str | None = None) -> Response:
    """An answer without a body (no content type either, as upstream)."""
    headers = {"location": location} if location else {}
    return Response(status_code=status, headers=headers)


@asynccontextmanager
async def writing(request: Request) -> AsyncIterator[AsyncSession]:
    """A write transaction; a unique-key race with another writer becomes a 409."""
    try:
        async with serialized(db(request)), db(request).transaction() as session:
            yield session
    except IntegrityError:
        raise ConcurrentUpdate(
            "Another thread concurrently updated the data. Please retry your update"
        ) from None


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    async with db(request).reader() as session:
        yield session
