"""/v2.0/quotas: limits per project, their defaults and (details) their usage."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.network import schemas
from nimbus.api.network.common import (
    authorize,
    options,
    parse_one,
    reading,
    target,
    write,
)
from nimbus.network import quotas


def _project(request: Request, action: str) -> str:
    project_id = request.path_params["project_id"]
    authorize(request, action, target(project_id))
    return project_id


async def list_quotas(request: Request) -> Response:
    """The projects whose quotas differ from the defaults (admin only)."""
    authorize(request, "update_quota", target(""))
    async with reading(request) as session:
        body = []
        for project_id in await quotas.projects_with_quotas(session):
            limits = await quotas.limits(session, options(request), project_id)
            body.append({**limits, "project_id": project_id, "tenant_id": project_id})
    return json_response({"quotas": body})


async def show_quota(request: Request) -> Response:
    project_id = _project(request, "get_quota")
    async with reading(request) as session:
        limits = await quotas.limits(session, options(request), project_id)
    return json_response({"quota": limits})


async def show_defaults(request: Request) -> Response:
    _project(request, "get_quota")
    return json_response({"quota": dict(options(request).default_quotas)})


async def show_details(request: Request) -> Response:
    project_id = _project(request, "get_quota")
    async with reading(request) as session:
        limits = await quotas.limits(session, options(request), project_id)
        used = await quotas.used(session, project_id)
    details = {
        name: {"limit": limit, "used": used[name], "reserved": 0} for name, limit in limits.items()
    }
    return json_response({"quota": details})


async def update_quota(request: Request) -> Response:
    project_id = _project(request, "update_quota")
    body = await parse_one(request, "quota", schemas.QuotaUpdate)
    values = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}

    async def work(session: AsyncSession) -> dict[str, int]:
        await quotas.update(session, project_id, values)
        return await quotas.limits(session, options(request), project_id)

    return json_response({"quota": await write(request, work)})


async def delete_quota(request: Request) -> Response:
    project_id = _project(request, "delete_quota")

    async def work(session: AsyncSession) -> None:
        await quotas.reset(session, project_id)

    await write(request, work)
    return no_content()
