"""Reading and validating request bodies.

A body that is not JSON, too large, of the wrong types or with fields the schema
does not allow is refused here, before any handler or database is touched.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

from nimbus.errors import BadRequest, PayloadTooLarge

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    """Base of request schemas: exact types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Open(BaseModel):
    """Base of schemas whose upstream API stores unknown attributes as extras."""

    model_config = ConfigDict(extra="allow", strict=True)


async def read_json(request: Request) -> Any:
    """The decoded JSON body, refusing one larger than the service's limit."""
    limit: int = request.app.state.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request is too large. The limit is {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request is too large. The limit is {limit} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequest("The request body is empty; a JSON object was expected.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"Malformed request body: {exc}") from None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = "/".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "extra_forbidden":
        return f"Invalid input for field '{where}': additional properties are not allowed."
    return f"Invalid input for field '{where}': {first['msg']}."


def validate(model: type[Model], data: Any) -> Model:
    """`data` checked against `model`; any mismatch is a 400 naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(_describe(exc)) from None


async def parse(request: Request, model: type[Model]) -> Model:
    """Read the body and validate it in one step."""
    return validate(model, await read_json(request))
