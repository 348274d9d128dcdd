"""Flavors: list (brief and detail), show, create, update (2.55), delete.

Anyone may list and show the flavors they can see (public ones, and private ones
their project was given); creating, changing and deleting are for admins. Extra specs
appear in flavor bodies from 2.61 for callers the extra-specs index rule allows.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas, views
from nimbus.api.compute.common import (
    allowed,
    at_least,
    authorize,
    bool_from_string,
    caller,
    check_query,
    limit_of,
    newest,
    paged,
    parse,
    query_choice,
    reading,
    writing,
)
from nimbus.compute import flavors
from nimbus.db.models.compute import Flavor
from nimbus.errors import BadRequest

MANAGE = "os_compute_api:os-flavor-manage"
SPECS_INDEX = "os_compute_api:os-flavor-extra-specs:index"
LIST_QUERY = ("limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir")
_NONE_STRINGS = ("none", "null")


def viewer(request: Request) -> flavors.Viewer:
    context = caller(request)
    return flavors.Viewer(project_id=context.project_id, is_admin=context.is_admin)


def _shows_specs(request: Request) -> bool:
    return at_least(request, "2.61") and allowed(request, SPECS_INDEX)


async def _one(request: Request, session: AsyncSession, flavor: Flavor) -> Response:
    specs = await flavors.extra_specs(session, flavor) if _shows_specs(request) else None
    return json_response({"flavor": views.flavor(request, flavor, specs)})


def _int_filter(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{value}]") from None


def _is_public(request: Request) -> bool | None:
    """Admins choose: absent → public only, "none" → all, else a strict boolean."""
    value = request.query_params.get("is_public")
    if value is None:
        return True
    if value.strip().lower() in _NONE_STRINGS:
        return None
    parsed = bool_from_string(value)
    if parsed is None:
        raise BadRequest(f"Invalid is_public filter [{value}]")
    return parsed


def _listing(request: Request) -> flavors.Listing:
    """From 2.102: a `name` filter (a regular expression, as upstream's), and no
    sorting by rxtx_factor any more."""
    named = at_least(request, "2.102")
    known = (*LIST_QUERY, "name") if named else LIST_QUERY
    check_query(request, known, strict=at_least(request, "2.75"))
    sort_keys = tuple(k for k in flavors.SORT_KEYS if not (named and k == "rxtx_factor"))
    return flavors.Listing(
        is_public=_is_public(request) if caller(request).is_admin else True,
        min_ram=_int_filter(request, "minRam"),
        min_disk=_int_filter(request, "minDisk"),
        name=request.query_params.get("name") if named else None,
        sort_key=query_choice(request, "sort_key", sort_keys, "flavorid"),
        sort_dir=query_choice(request, "sort_dir", ("asc", "desc"), "asc"),
        limit=limit_of(request),
        marker=request.query_params.get("marker"),
    )


async def list_flavors(request: Request) -> Response:
    listing = _listing(request)
    async with reading(request) as session:
        rows = await flavors.list_flavors(session, viewer(request), listing)
    items = [views.flavor_brief(request, row) for row in rows]
    return json_response(paged(request, "flavors", items, listing.limit))


async def list_flavors_detail(request: Request) -> Response:
    listing = _listing(request)
    async with reading(request) as session:
        rows = await flavors.list_flavors(session, viewer(request), listing)
        specs = await flavors.extra_specs_of(session, rows) if _shows_specs(request) else {}
    items = [views.flavor(request, row, specs.get(row.id)) for row in rows]
    return json_response(paged(request, "flavors", items, listing.limit, path="flavors/detail"))


async def show_flavor(request: Request) -> Response:
    async with reading(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        return await _one(request, session, flavor)


async def create_flavor(request: Request) -> Response:
    """200, not 201, as upstream answers; a private flavor's creator gets no access
    row (upstream's bug 1209101, kept for compatibility)."""
    authorize(request, f"{MANAGE}:create")
    model = newest(
        request,
        (
            ("2.1", schemas.FlavorCreate),
            ("2.55", schemas.FlavorCreateV255),
            ("2.102", schemas.FlavorCreateV2102),
        ),
    )
    body = (await parse(request, model)).flavor
    new = flavors.NewFlavor(
        name=body.name,
        flavorid=None if body.id is None else str(body.id),
        memory_mb=int(body.ram),
        vcpus=int(body.vcpus),
        root_gb=int(body.disk),
        ephemeral_gb=int(body.ephemeral),
        swap=int(body.swap),
        rxtx_factor=float(getattr(body, "rxtx_factor", 1.0)),
        is_public=body.is_public,
        description=getattr(body, "description", None),
    )
    async with writing(request) as session:
        flavor = await flavors.create(session, new)
        return await _one(request, session, flavor)


async def update_flavor(request: Request) -> Response:
    """2.55: only the description may change."""
    authorize(request, f"{MANAGE}:update")
    body = (await parse(request, schemas.FlavorUpdate)).flavor
    async with writing(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        await flavors.set_description(session, flavor, body.description)
        return await _one(request, session, flavor)


async def delete_flavor(request: Request) -> Response:
    """202, as upstream answers."""
    authorize(request, f"{MANAGE}:delete")
    async with writing(request) as session:
        await flavors.delete_flavor(session, request.path_params["flavor_id"])
    return Response(status_code=202)
