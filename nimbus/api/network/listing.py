"""Neutron's collection queries: filters on any attribute, sorting, paging, fields.

Filters work on the documents the caller would see, so any attribute filters, as
upstream: a repeated parameter matches any of its values (``?status=ACTIVE&status=
DOWN``), booleans match "true"/"True"/"1"; ``tags``, ``tags-any``, ``not-tags``,
``not-tags-any`` take comma-separated lists; a port's ``fixed_ips`` filter is
``fixed_ips=ip_address=10.0.0.3`` or ``fixed_ips=subnet_id=…``. Unknown parameters
are ignored, as upstream does without the filter-validation extension.

Paging is ``limit`` + ``marker`` (+ ``page_reverse``), with ``<collection>_links``:
"next" when the page is full, "previous" when a marker was given.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.errors import BadRequest

CONTROL = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}
TAG_FILTERS = {"tags", "tags-any", "not-tags", "not-tags-any"}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _matches(value: Any, wanted: list[str]) -> bool:
    if isinstance(value, bool):
        return any(w.lower() in (_TRUE if value else _FALSE) for w in wanted)
    if value is None:
        return any(w in ("", "None", "null") for w in wanted)
    if isinstance(value, list):
        return any(str(item) in wanted for item in value)
    return str(value) in wanted


def _fixed_ips(value: list[dict[str, str]], wanted: list[str]) -> bool:
    for spec in wanted:
        key, _, expected = spec.partition("=")
        if key not in ("ip_address", "subnet_id", "ip_address_substr"):
            raise BadRequest(f"{spec} is invalid attribute for filtering fixed_ips")
        if key == "ip_address_substr":
            if not any(expected in ip["ip_address"] for ip in value):
                return False
        elif not any(ip[key] == expected for ip in value):
            return False
    return True


def _tags(tags: list[str], kind: str, wanted: list[str]) -> bool:
    names = {name for spec in wanted for name in spec.split(",") if name}
    present = set(tags)
    return {
        "tags": names <= present,
        "tags-any": bool(names & present),
        "not-tags": not names <= present,
        "not-tags-any": not names & present,
    }[kind]


def select(request: Request, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents matching every filter of the query string."""
    params = request.query_params
    found = documents
    for key in {k for k in params if k not in CONTROL}:
        wanted = params.getlist(key)
        if key in TAG_FILTERS:
            found = [d for d in found if _tags(d.get("tags", []), key, wanted)]
        elif key == "fixed_ips":
            found = [d for d in found if _fixed_ips(d.get("fixed_ips", []), wanted)]
        elif documents and key in documents[0]:
            found = [d for d in found if _matches(d.get(key), wanted)]
    return found


def _sort_key(value: Any) -> tuple[int, Any]:
    """None first, then values of one type compared naturally."""
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


def _sort(request: Request, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = request.query_params.getlist("sort_key")
    directions = request.query_params.getlist("sort_dir")
    if not keys:
        if directions:
            raise BadRequest("sort_dir given without sort_key")
        return documents
    if directions and len(directions) != len(keys):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    for direction in directions:
        if direction not in ("asc", "desc"):
            raise BadRequest(
                f"{direction} is an invalid value for sort_dir, valid values are 'asc' and 'desc'"
            )
    if documents:
        for key in keys:
            if key not in documents[0]:
                raise BadRequest(f"{key} is an invalid attribute for sort_keys")
    ordered = list(documents)
    for key, direction in reversed(list(zip(keys, directions or ["asc"] * len(keys), strict=True))):
        ordered.sort(key=lambda d: _sort_key(d.get(key)), reverse=direction == "desc")
    return ordered


def _int_param(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"Invalid input for {name}: '{text}' is not an integer") from None
    if value < 0:
        raise BadRequest(f"Invalid input for {name}: '{text}' should be >= 0")
    return value


def _links(
    request: Request, page: list[dict[str, Any]], limit: int, marker: str | None, reverse: bool
) -> list[dict[str, str]]:
    """`page` is in walking order (reversed when page_reverse): the link walking on
    starts after its last item, the one walking back before its first."""
    base = str(request.url.replace(query=""))
    paging = ("marker", "page_reverse")
    others = [(k, v) for k, v in request.query_params.multi_items() if k not in paging]

    def href(edge: str, backwards: bool) -> str:
        query = [*others, ("marker", edge)] + ([("page_reverse", "True")] if backwards else [])
        return f"{base}?{urlencode(query)}"

    onward, back = ("previous", "next") if reverse else ("next", "previous")
    links = []
    if page and len(page) == limit:
        links.append({"rel": onward, "href": href(page[-1]["id"], reverse)})
    if marker and page:
        links.append({"rel": back, "href": href(page[0]["id"], not reverse)})
    return links


def fields(request: Request, document: dict[str, Any]) -> dict[str, Any]:
    wanted = request.query_params.getlist("fields")
    if not wanted:
        return document
    return {key: value for key, value in document.items() if key in wanted}


def respond(request: Request, collection: str, documents: list[dict[str, Any]]) -> Response:
    """The collection answer: filtered, sorted, paged, with only the asked fields."""
    ordered = _sort(request, select(request, documents))
    limit = _int_param(request, "limit")
    marker = request.query_params.get("marker")
    reverse = request.query_params.get("page_reverse", "").lower() in _TRUE
    body: dict[str, Any] = {}
    if limit or marker:
        sequence = list(reversed(ordered)) if reverse else ordered
        if marker:
            index = next((i for i, d in enumerate(sequence) if d["id"] == marker), None)
            sequence = sequence[index + 1 :] if index is not None else []
        page = sequence[:limit] if limit else sequence
        links = _links(request, page, limit or 0, marker, reverse)
        ordered = list(reversed(page)) if reverse else page
        if links:
            body[f"{collection}_links"] = links
    body = {collection: [fields(request, d) for d in ordered], **body}
    return json_response(body)
