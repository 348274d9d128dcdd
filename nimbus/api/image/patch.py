"""PATCH /v2/images/{id} bodies: Glance's subset of JSON Patch (RFC 6902).

Two media types: ``application/openstack-images-v2.1-json-patch`` (``{"op": "add",
"path": "/name", "value": …}``) and the deprecated v2.0 one, based on draft 4
(``{"add": "/name", "value": …}``).  A path names one top-level member of the image
document (JSON-pointer escapes ``~0`` and ``~1`` allowed); read-only and reserved
members are refused with 403 before anything is applied, and every new value is
checked against the image schema, as if it were sent on create.
"""

from __future__ import annotations

import re
from typing import Any

from nimbus.api.common.body import validate
from nimbus.api.image.schemas import ImageDocument
from nimbus.errors import BadRequest, Forbidden, UnsupportedMediaType
from nimbus.image.images import Change, refusal

V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"
MEDIA_TYPES = (V20, V21)
OPERATIONS = ("add", "remove", "replace")


def check_media_type(content_type: str | None) -> str:
    """The patch media type of the request, or a 415 naming the accepted ones."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"The request media type {media_type or 'None'} is not supported by this server. "
            f"Image PATCH expects Content-Type one of: {', '.join(MEDIA_TYPES)}"
        )
    return media_type


def _operation(raw: dict[str, Any], media_type: str) -> tuple[str, Any]:
    """(op, pointer) in either dialect."""
    if media_type == V21:
        op = raw.get("op")
        if op not in OPERATIONS:
            raise BadRequest(
                f"Invalid operation: `{op}`. It must be one of the following: "
                f"{', '.join(OPERATIONS)}."
            )
        if "path" not in raw:
            raise BadRequest("Unable to find 'path' in JSON Schema change")
        return op, raw["path"]
    named = [op for op in OPERATIONS if op in raw]
    if len(named) != 1:
        raise BadRequest(
            'Operation objects must contain exactly one member named "add", "remove", or "replace".'
        )
    return named[0], raw[named[0]]


def _decode_pointer(pointer: Any) -> list[str]:
    """A JSON pointer's tokens, refusing the forms Glance refuses."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise BadRequest(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise BadRequest(f'Pointer `{pointer}` end with "/".')
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise BadRequest(f'Pointer `{pointer}` contains "~" not part of a recognized escape.')
    return [
        part.replace("~1", "/").replace("~0", "~").strip()
        for part in pointer.lstrip("/").split("/")
    ]


def _change(raw: Any, media_type: str) -> Change:
    if not isinstance(raw, dict):
        raise BadRequest("Operations must be JSON objects.")
    op, pointer = _operation(raw, media_type)
    path = _decode_pointer(pointer)
    reason = refusal(path[0])
    if reason:
        raise Forbidden(reason)
    if len(path) != 1 or not path[0]:
        raise BadRequest(f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
    if op == "remove":
        return Change(op, path[0])
    if "value" not in raw:
        raise BadRequest(f'Operation "{op}" requires a member named "value".')
    validate(ImageDocument, {path[0]: raw["value"]})
    return Change(op, path[0], raw["value"])


def parse(body: Any, media_type: str) -> list[Change]:
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_change(raw, media_type) for raw in body]
