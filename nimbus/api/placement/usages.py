"""/resource_providers/{uuid}/usages and /usages (1.9; by consumer type from 1.38)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.placement.common import authorize, check_query, reading, respond, version
from nimbus.errors import BadRequest
from nimbus.placement import providers, usages

#: Upstream's CONSUMER_TYPE_GET_PATTERN: a type name, or ``all`` / ``unknown``.
_CONSUMER_TYPE = re.compile(r"^[A-Z0-9_]+$|^all$|^unknown$")


async def of_provider(request: Request) -> Response:
    authorize(request, "placement:resource_providers:usages")
    async with reading(request) as session:
        provider = await providers.get(session, request.path_params["uuid"])
        used = await usages.of_provider(session, provider.id)
    return respond(request, {"resource_provider_generation": provider.generation, "usages": used})


def _owner(request: Request, name: str, *, required: bool) -> str | None:
    value = request.query_params.get(name)
    if value is None and required:
        raise BadRequest(f"Invalid query string parameters: '{name}' is a required property")
    if value is not None and not 1 <= len(value) <= 255:
        raise BadRequest(
            f"Invalid query string parameters: '{value}' is not a valid {name} "
            "(1 to 255 characters)"
        )
    return value


async def totals(request: Request) -> Response:
    """A project's (or a project user's) usage; grouped by consumer type from 1.38."""
    authorize(request, "placement:usages", project_id=request.query_params.get("project_id"))
    by_type = version(request) >= (1, 38)
    check_query(
        request,
        {"project_id", "user_id", "consumer_type"} if by_type else {"project_id", "user_id"},
    )
    project_id = _owner(request, "project_id", required=True)
    assert project_id is not None
    user_id = _owner(request, "user_id", required=False)
    consumer_type = request.query_params.get("consumer_type")
    if consumer_type is not None and not _CONSUMER_TYPE.match(consumer_type):
        raise BadRequest(
            f"Invalid query string parameters: '{consumer_type}' does not match "
            f"'{_CONSUMER_TYPE.pattern}'"
        )
    async with reading(request) as session:
        if by_type:
            body = await usages.of_project_by_type(session, project_id, user_id, consumer_type)
        else:
            body = await usages.of_project(session, project_id, user_id)
    return respond(request, {"usages": body})
