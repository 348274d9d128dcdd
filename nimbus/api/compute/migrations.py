"""GET /os-migrations: the moves of servers between hosts (resizes, cold migrations,
evacuations), with Nova's filters and its changes by microversion: ``migration_type``
from 2.23, newest first with paging, ``uuid`` and ``changes-since`` from 2.59,
``changes-before`` from 2.66, ``user_id``/``project_id`` from 2.80."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import common
from nimbus.api.compute.server_common import moment_param
from nimbus.api.compute.views import dbtime
from nimbus.compute import migrations
from nimbus.db.models.migration import Migration
from nimbus.errors import BadRequest

RULE = "os_compute_api:os-migrations"

_QUERY = ("hidden", "host", "instance_uuid", "source_compute", "status", "migration_type")
#: The query parameters each microversion's schema names (unknown ones are a 400 from
#: 2.59, where upstream's schema stops allowing additional properties).
_QUERY_BY_VERSION = (
    ("2.1", _QUERY),
    ("2.59", (*_QUERY, "limit", "marker", "changes-since")),
    ("2.66", (*_QUERY, "limit", "marker", "changes-since", "changes-before")),
    (
        "2.80",
        (*_QUERY, "limit", "marker", "changes-since", "changes-before", "user_id", "project_id"),
    ),
)
_HOST_FIELDS = ("dest_compute", "dest_host", "dest_node", "source_compute", "source_node")


def _filters(request: Request, paging: bool) -> migrations.Filters:
    query = request.query_params
    hidden = query.get("hidden")
    since = moment_param(request, "changes-since") if paging else None
    before = moment_param(request, "changes-before") if common.at_least(request, "2.66") else None
    if since and before and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    return migrations.Filters(
        host=query.get("host"),
        source_compute=query.get("source_compute"),
        status=query.get("status"),
        instance_uuid=query.get("instance_uuid"),
        migration_type=query.get("migration_type"),
        hidden=None if hidden is None else bool(common.bool_from_string(hidden)),
        # upstream passes every query parameter to the database filters, so these
        # two filter before 2.80 too (only their fields in the answer are new there)
        project_id=query.get("project_id"),
        user_id=query.get("user_id"),
        changes_since=since,
        changes_before=before,
    )


def _view(request: Request, row: Migration, show_hosts: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created_at": dbtime(row.created_at),
        "dest_compute": row.dest_compute,
        "dest_host": row.dest_host,
        "dest_node": row.dest_node,
        "id": row.id,
        "instance_uuid": row.instance_uuid,
        "new_instance_type_id": row.new_instance_type_id,
        "old_instance_type_id": row.old_instance_type_id,
        "source_compute": row.source_compute,
        "source_node": row.source_node,
        "status": row.status,
        "updated_at": dbtime(row.updated_at),
    }
    if not show_hosts:
        body.update(dict.fromkeys(_HOST_FIELDS))
    if common.at_least(request, "2.23"):
        # links only for a live migration in progress: none are ever made here
        body["migration_type"] = row.migration_type
    if common.at_least(request, "2.59"):
        body["uuid"] = row.uuid
    if common.at_least(request, "2.80"):
        body["user_id"] = row.user_id
        body["project_id"] = row.project_id
    return body


async def list_migrations(request: Request) -> Response:
    paging = common.at_least(request, "2.59")
    common.check_query(request, common.newest(request, _QUERY_BY_VERSION), strict=paging)
    context = common.caller(request)
    common.authorize(request, f"{RULE}:index", project_id=context.project_id)
    wanted_project = request.query_params.get("project_id")
    if not wanted_project or wanted_project != context.project_id:
        common.authorize(request, f"{RULE}:index:all_projects")
    show_hosts = common.allowed(request, f"{RULE}:index:host")
    limit = common.limit_of(request) if paging else None
    async with common.reading(request) as session:
        rows = await migrations.list_migrations(
            session,
            _filters(request, paging),
            newest_first=paging,
            limit=limit,
            marker=request.query_params.get("marker") if paging else None,
        )
    items = [_view(request, row, show_hosts) for row in rows if not row.hidden]
    if limit is None:
        return json_response({"migrations": items})
    body = common.paged(
        request, "migrations", items, limit, path="os-migrations", marker_of=lambda m: m["uuid"]
    )
    return json_response(body)
