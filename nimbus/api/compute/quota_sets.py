"""Quotas: /os-quota-sets/{project_id} (show, update, delete, /defaults, /detail, each
per project or, with ``?user_id=``, per user) and /os-quota-class-sets/{class}.

The resources shown depend on the microversion: nova-network's (fixed_ips,
floating_ips, security_groups, security_group_rules) go at 2.36 for quota sets and at
2.50 for quota classes, which until then lack server_groups and
server_group_members; personality files' go at 2.57.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute.common import at_least, authorize, check_query, parse, reading, writing
from nimbus.api.compute.schemas import quota_body
from nimbus.compute import identity, quotas

RULE = "os_compute_api:os-quota-sets"
CLASS_RULE = "os_compute_api:os-quota-class-sets"
NETWORK = tuple(quotas.LEGACY)
PERSONALITY = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
SERVER_GROUPS = ("server_groups", "server_group_members")


def _resources(request: Request, *, network_gone: str, classes: bool = False) -> tuple[str, ...]:
    """The resources this microversion shows (network quotas go at `network_gone`)."""
    hidden: set[str] = set()
    if at_least(request, network_gone):
        hidden.update(NETWORK)
    if at_least(request, "2.57"):
        hidden.update(PERSONALITY)
    if classes and not at_least(request, "2.50"):
        hidden.update(SERVER_GROUPS)
    return tuple(r for r in quotas.RESOURCES if r not in hidden)


def _set_resources(request: Request) -> tuple[str, ...]:
    return _resources(request, network_gone="2.36")


def _shown(
    values: Mapping[str, Any], resources: tuple[str, ...], ident: str | None
) -> dict[str, Any]:
    body = {"id": ident} if ident is not None else {}
    body.update({r: values[r] for r in resources})
    return body


def _target(request: Request, rule: str) -> tuple[str, str | None]:
    """The project (path) and optional user (query) meant, once the caller may."""
    check_query(request, ("user_id",), strict=at_least(request, "2.75"))
    project_id = request.path_params["project_id"]
    authorize(request, rule, project_id=project_id)
    return project_id, request.query_params.get("user_id")


async def _limits(request: Request, project_id: str, user_id: str | None) -> dict[str, int]:
    async with reading(request) as session:
        return (await quotas.limits(session, project_id, user_id)).effective()


async def show_quotas(request: Request) -> Response:
    project_id, user_id = _target(request, f"{RULE}:show")
    async with reading(request) as session:
        await identity.verify_project(session, project_id)
    values = await _limits(request, project_id, user_id)
    return json_response({"quota_set": _shown(values, _set_resources(request), project_id)})


async def show_detail(request: Request) -> Response:
    project_id, user_id = _target(request, f"{RULE}:detail")
    async with reading(request) as session:
        await identity.verify_project(session, project_id)
        values = (await quotas.limits(session, project_id, user_id)).effective()
        used = await quotas.in_use(session, project_id, user_id)
    detail = {r: {"in_use": used[r], "limit": values[r], "reserved": 0} for r in quotas.RESOURCES}
    return json_response({"quota_set": _shown(detail, _set_resources(request), project_id)})


async def show_defaults(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    authorize(request, f"{RULE}:defaults", project_id=project_id)
    async with reading(request) as session:
        await identity.verify_project(session, project_id)
        values = await quotas.class_limits(session)
    return json_response({"quota_set": _shown(values, _set_resources(request), project_id)})


async def update_quotas(request: Request) -> Response:
    """Limits below what is in use are refused unless ``force``; the answer has no id."""
    project_id, user_id = _target(request, f"{RULE}:update")
    resources = _set_resources(request)
    body = (await parse(request, quota_body("quota_set", resources, force=True))).quota_set
    values = {r: int(v) for r, v in body.model_dump(exclude_none=True).items() if r != "force"}
    async with writing(request) as session:
        await identity.verify_project(session, project_id)
        await quotas.set_limits(
            session, project_id, values, user_id=user_id, force=bool(body.force)
        )
        current = (await quotas.limits(session, project_id, user_id)).effective()
    return json_response({"quota_set": _shown(current, resources, None)})


async def delete_quotas(request: Request) -> Response:
    """202, as upstream answers: the project's (or user's) own limits are forgotten."""
    project_id, user_id = _target(request, f"{RULE}:delete")
    async with writing(request) as session:
        await quotas.delete_limits(session, project_id, user_id)
    return Response(status_code=202)


def _class_resources(request: Request) -> tuple[str, ...]:
    return _resources(request, network_gone="2.50", classes=True)


async def show_class(request: Request) -> Response:
    authorize(request, f"{CLASS_RULE}:show")
    name = request.path_params["class_name"]
    async with reading(request) as session:
        values = await quotas.class_limits(session, name)
    return json_response({"quota_class_set": _shown(values, _class_resources(request), name)})


async def update_class(request: Request) -> Response:
    authorize(request, f"{CLASS_RULE}:update")
    name = request.path_params["class_name"]
    # Upstream's schema takes the server group resources before 2.50 too (the answer
    # just does not show them there).
    settable = _resources(request, network_gone="2.50")
    model = quota_body("quota_class_set", settable, force=False)
    body = (await parse(request, model)).quota_class_set
    values = {r: int(v) for r, v in body.model_dump(exclude_none=True).items()}
    async with writing(request) as session:
        await quotas.set_class_limits(session, name, values)
        current = await quotas.class_limits(session, name)
    return json_response({"quota_class_set": _shown(current, _class_resources(request), None)})
