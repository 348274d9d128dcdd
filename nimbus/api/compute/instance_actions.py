"""/servers/{id}/os-instance-actions[/{request_id}]: what was done to a server, and
the events of each action (`openstack server event list/show`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import common
from nimbus.api.compute.server_common import moment_param
from nimbus.api.compute.server_views import host_id
from nimbus.api.compute.views import dbtime
from nimbus.compute import actions, instances
from nimbus.db.models.cell import Instance, InstanceAction, InstanceActionEvent

RULE = "os_compute_api:os-instance-actions"


async def _server(request: Request, session: Any, rule: str) -> Instance:
    """Actions of deleted servers stay readable (from 2.21, as upstream)."""
    context = common.caller(request)
    server = await instances.get(
        session,
        request.path_params["server_id"],
        project_id=None if context.is_admin else context.project_id,
        deleted=common.at_least(request, "2.21"),
    )
    common.authorize(request, rule, project_id=server.project_id, user_id=server.user_id)
    return server


def _action(request: Request, action: InstanceAction) -> dict[str, Any]:
    body = {
        "action": action.action,
        "instance_uuid": action.instance_uuid,
        "message": action.message,
        "project_id": action.project_id,
        "request_id": action.request_id,
        "start_time": dbtime(action.start_time),
        "user_id": action.user_id,
    }
    if common.at_least(request, "2.58"):
        body["updated_at"] = dbtime(action.updated_at)
    return body


async def list_actions(request: Request) -> Response:
    paging = common.at_least(request, "2.58")
    limit = common.limit_of(request) if paging else None
    async with common.reading(request) as session:
        server = await _server(request, session, f"{RULE}:list")
        found = await actions.list_actions(
            session,
            server.uuid,
            limit=limit,
            marker=request.query_params.get("marker") if paging else None,
            changes_since=moment_param(request, "changes-since") if paging else None,
            changes_before=moment_param(request, "changes-before")
            if common.at_least(request, "2.66")
            else None,
        )
    items = [_action(request, a) for a in found]
    body: dict[str, Any] = {"instanceActions": items}
    if paging and limit and len(items) == limit:
        path = f"servers/{server.uuid}/os-instance-actions"
        body["links"] = [common.next_link(request, path, items[-1]["request_id"])]
    return json_response(body)


def _event(
    request: Request, event: InstanceActionEvent, server: Instance, show: dict[str, bool]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event.event,
        "start_time": dbtime(event.start_time),
        "finish_time": dbtime(event.finish_time),
        "result": event.result,
    }
    if show["traceback"]:
        body["traceback"] = event.traceback
    if common.at_least(request, "2.62"):
        if show["traceback"]:
            body["host"] = event.host or ""
        body["hostId"] = host_id(event.host, server.project_id)
    if common.at_least(request, "2.84") and show["details"]:
        body["details"] = event.details
    return body


async def show_action(request: Request) -> Response:
    async with common.reading(request) as session:
        server = await _server(request, session, f"{RULE}:show")
        action = await actions.get_action(session, server.uuid, request.path_params["request_id"])
        owner = {"project_id": server.project_id}
        show = {
            "traceback": common.allowed(request, f"{RULE}:events", **owner),
            "details": common.allowed(request, f"{RULE}:events:details", **owner),
        }
        body = _action(request, action)
        if show["traceback"] or common.at_least(request, "2.51"):
            events = await actions.events_of(session, action.id)
            body["events"] = [_event(request, e, server, show) for e in events]
    return json_response({"instanceAction": body})
