"""GET /v2/images query strings → ImageQuery, with Glance's syntax and its 400s.

- ``name``, ``id``, ``status``, ``container_format``, ``disk_format``: ``eq:`` (the
  default) or ``in:a,b,"c, d"``; another ``op:`` prefix is a 400, so a value with a
  colon needs ``eq:``, as upstream;
- ``created_at`` / ``updated_at``: ``gt|gte|eq|neq|lt|lte:ISO-8601``;
- ``size_min`` / ``size_max`` (and ``virtual_size_…``): inclusive bounds;
- ``tag`` (repeatable, all must match), ``visibility`` (or ``all``), ``member_status``,
  ``protected``, ``os_hidden`` (false unless given: hidden images stay out of lists);
- any other attribute compares for equality, any unknown name filters on a property;
- sorting by ``sort=key:dir,…`` or repeated ``sort_key`` / ``sort_dir``, never both;
- ``changes-since`` was v1 only: a 400, as upstream.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime

from nimbus.errors import BadRequest
from nimbus.image.listing import OPERATORS, SORT_KEYS, Comparison, ImageQuery
from nimbus.image.visibility import MEMBER_STATUSES

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
_WITH_IN = ("name", "id", "status", "container_format", "disk_format")
_TIMES = ("created_at", "updated_at")
_RANGES = ("size", "virtual_size")
_INTEGERS = ("size", "virtual_size", "min_disk", "min_ram")
_BOOLEANS = ("protected", "os_hidden")
_STRINGS = ("owner", "checksum", "os_hash_algo", "os_hash_value")
_PAGING = ("limit", "marker", "member_status", "tag", "sort", "sort_key", "sort_dir")


def _split_op(expression: str) -> tuple[str, str]:
    """Glance's split_filter_op: "op:value", or "eq" when there is no colon or the
    whole expression is a timestamp."""
    op, colon, value = expression.partition(":")
    if not colon or _timestamp(expression) is not None:
        return "eq", expression
    return op, value


def _timestamp(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _boolean(name: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise BadRequest(
            f"Invalid value '{value}' for '{name}' filter. Valid values are 'true' or 'false'."
        )
    return value == "true"


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Unable to filter on a range with a non-numeric value: {name}.") from None


def _among_or_equal(query: ImageQuery, name: str, expression: str) -> None:
    op, value = _split_op(expression)
    if op == "in":
        query.among[name] = next(csv.reader([value], skipinitialspace=True), [])
    elif op == "eq":
        query.comparisons.append(Comparison(name, "eq", value))
    else:
        raise BadRequest(f"Unable to filter by unknown operator '{op}'.")


def _time(query: ImageQuery, name: str, expression: str) -> None:
    op, value = _split_op(expression)
    moment = _timestamp(value)
    if op not in OPERATORS or moment is None:
        raise BadRequest(f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.')
    query.comparisons.append(Comparison(name, op, moment))


def _filter(query: ImageQuery, name: str, value: str) -> None:
    """One filter parameter into `query`."""
    if name in _WITH_IN:
        _among_or_equal(query, name, value)
    elif name in _TIMES:
        _time(query, name, value)
    elif name.endswith(("_min", "_max")) and name[:-4] in _RANGES:
        op = "gte" if name.endswith("_min") else "lte"
        query.comparisons.append(Comparison(name[:-4], op, _integer(name, value)))
    elif name in _INTEGERS:
        query.comparisons.append(Comparison(name, "eq", _integer(name, value)))
    elif name in _BOOLEANS:
        # Glance lowercases os_hidden (openstacksdk sends "True"), not protected.
        text = value.lower() if name == "os_hidden" else value
        query.comparisons.append(Comparison(name, "eq", _boolean(name, text)))
    elif name in _STRINGS:
        query.comparisons.append(Comparison(name, "eq", value))
    elif name == "visibility":
        if value not in ("community", "public", "private", "shared", "all"):
            raise BadRequest(f"Invalid visibility value: {value}")
        query.visibility = value
    elif name == "changes-since":
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    else:
        query.properties[name] = value


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise BadRequest(
            f"Invalid sort key: {key}. It must be one of the following: {', '.join(SORT_KEYS)}."
        )
    return key


def _sort_dir(direction: str) -> str:
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    return direction


def _sorting(query: ImageQuery, params: Sequence[tuple[str, str]]) -> None:
    sort = [value for name, value in params if name == "sort"]
    keys = [value.strip() for name, value in params if name == "sort_key"]
    dirs = [value.strip() for name, value in params if name == "sort_dir"]
    if sort and (keys or dirs):
        raise BadRequest("Old and new sorting syntax cannot be combined")
    if sort:
        pairs = [part.partition(":") for part in sort[-1].strip().split(",")]
        query.sort = [(_sort_key(k.strip()), _sort_dir(d.strip() or "desc")) for k, _, d in pairs]
        if len(query.sort) == 1:
            query.default_dir = query.sort[0][1]
        return
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise BadRequest("Number of sort dirs does not match the number of sort keys")
    dirs = [_sort_dir(d) for d in dirs] or ["desc"]
    if len(dirs) == 1:
        query.default_dir = dirs[0]
        dirs = dirs * max(len(keys), 1)
    query.sort = list(zip([_sort_key(k) for k in keys] or ["created_at"], dirs, strict=True))


def _limit(value: str) -> int:
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)


def parse(params: Sequence[tuple[str, str]]) -> ImageQuery:
    """The query of a list request (`params` as multi-items, repeated names kept)."""
    query = ImageQuery(limit=DEFAULT_LIMIT)
    single = dict(params)
    if "limit" in single:
        query.limit = _limit(single["limit"])
    query.marker = single.get("marker")
    query.member_status = single.get("member_status", "accepted")
    if query.member_status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status: {query.member_status}")
    query.tags = [value.strip() for name, value in params if name == "tag"]
    _sorting(query, params)
    single.setdefault("os_hidden", "false")
    for name, value in single.items():
        if name not in _PAGING:
            _filter(query, name, value)
    return query
