"""/servers: create, list, list with details, show, update, delete."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common import handler
from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import read_json
from nimbus.api.compute import common, server_schemas
from nimbus.api.compute.server_common import (
    column_updates,
    fast_json,
    host_up,
    moment_param,
    placement,
    send,
    server_of,
    who,
)
from nimbus.api.compute.server_views import Page, ServerView, disk_config_shown, server_links
from nimbus.compute import (
    boot,
    disk_config,
    flavors,
    instances,
    lifecycle,
    listing,
    networking,
    pinning,
    shelve,
    states,
)
from nimbus.compute.boot import BootRequest
from nimbus.compute.lifecycle import Cast
from nimbus.compute.networking import Requested
from nimbus.errors import BadRequest, Forbidden, NotFound
from nimbus.placement import work

SERVERS = "os_compute_api:servers"


def _refuse_volumes(new: server_schemas.NewServer) -> None:
    """Mappings of the boot image onto a local disk (what the CLI sends for --image)
    and blank local disks are fine; anything with a volume needs the volume service,
    which Nimbus does not have yet."""
    volumes = bool(new.block_device_mapping) or any(
        m.get("destination_type") == "volume" or m.get("source_type") in ("volume", "snapshot")
        for m in new.block_device_mapping_v2 or []
    )
    if volumes:
        raise BadRequest("Block device mappings with volumes are not supported yet.")


def _requested_networks(networks: Any) -> Any:
    """"auto"/"none" as they are; a list as the networking domain's requests."""
    if networks is None or isinstance(networks, str):
        return networks
    return [Requested(n.uuid, n.port, n.fixed_ip) for n in networks]


def _hints(data: dict[str, Any]) -> dict[str, Any]:
    return data.get("os:scheduler_hints") or data.get("OS-SCH-HNT:scheduler_hints") or {}


async def create_server(request: Request) -> Response:
    common.authorize(request, f"{SERVERS}:create")
    data = await read_json(request)
    body = common.validate(server_schemas.ServerCreate, data)
    new, version = body.server, common.version(request)
    server_schemas.refuse_newer(
        data["server"],
        version,
        server_schemas.CREATE_FIELDS_SINCE,
        server_schemas.CREATE_FIELDS_UNTIL,
    )
    if version >= (2, 37) and new.networks is None:
        raise BadRequest("'networks' is a required property")
    if version < (2, 37) and isinstance(new.networks, str):
        raise BadRequest(
            f"Invalid input for field/attribute networks. Value: {new.networks}. "
            f"'{new.networks}' is not of type 'array'"
        )
    _refuse_volumes(new)
    if new.host or new.hypervisor_hostname:
        common.authorize(request, f"{SERVERS}:create:requested_destination")
    request_boot = BootRequest(
        name=new.name,
        flavor_ref=new.flavorRef,
        image_ref=new.imageRef,
        key_name=new.key_name,
        user_data=new.user_data,
        metadata=new.metadata or {},
        availability_zone=new.availability_zone,
        scheduler_hints=_hints(data),
        networks=_requested_networks(new.networks),
        security_groups=[g.name for g in new.security_groups or []] or ["default"],
        min_count=int(new.min_count or 1),
        max_count=int(new.max_count or new.min_count or 1),
        description=new.description if version >= (2, 19) else new.name,
        access_ip_v4=new.accessIPv4,
        access_ip_v6=new.accessIPv6,
        admin_password=new.adminPass,
        tags=new.tags or [],
        hostname=new.hostname,
        config_drive=bool(new.config_drive),
        auto_disk_config=server_schemas.auto_disk_config(new.disk_config),
        may_force_host=common.allowed(request, f"{SERVERS}:create:forced_host"),
    )
    if new.host:
        request_boot.availability_zone = f"{new.availability_zone or ''}:{new.host}"
    caller = who(request)
    booted = await boot.create(handler.db(request), request_boot, caller)
    uuids = booted.uuids
    await send(
        request,
        Cast(
            "conductor",
            "build_instances",
            None,
            {"instance_uuids": uuids, "caller": caller.caller(), "spec": booted.spec},
        ),
    )
    if new.return_reservation_id:
        return json_response({"reservation_id": booted.reservation_id}, 202)
    first = uuids[0]
    links = server_links(common.base_url(request), first)
    server = {
        "id": first,
        "links": links,
        "OS-DCF:diskConfig": disk_config_shown(booted.auto_disk_config),
        "security_groups": [{"name": name} for name in request_boot.security_groups],
        "adminPass": booted.admin_password,
    }
    headers = {"Location": links[0]["href"]}
    return json_response({"server": server}, 202, headers)


# --- listing -------------------------------------------------------------------------------


def _csv(request: Request, name: str) -> list[str]:
    value = request.query_params.get(name)
    return [t for t in value.split(",") if t] if value else []


def _sort(request: Request, admin: bool) -> list[tuple[str, str]]:
    keys = request.query_params.getlist("sort_key")
    dirs = request.query_params.getlist("sort_dir")
    if not keys:
        return [("created_at", (dirs or ["desc"])[0])]
    result = []
    for i, key in enumerate(keys):
        if key not in listing.SORT_KEYS:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
        if key in listing.ADMIN_SORT_KEYS and not admin:
            raise Forbidden("Only administrators can sort servers by host and node")
        direction = dirs[i] if i < len(dirs) else "desc"
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {direction}.")
        result.append((key, direction))
    return result


def _address_filter(request: Request, name: str) -> str | None:
    """`ip`/`ip6` as given (what they match is listing's business); Nova's query schema
    refuses one that is not a non-empty valid regular expression."""
    value = request.query_params.get(name)
    if value is not None and not _is_regex(value):
        refused = f"'{value}' is not a 'regex'"
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. {refused}")
    return value


def _is_regex(value: str) -> bool:
    try:
        re.compile(value)
    except re.error:
        return False
    return bool(value)


async def _query(request: Request) -> listing.ServerQuery | None:
    """The listing the request asks for, or None when nothing can match."""
    context = common.caller(request)
    params = request.query_params
    admin = context.is_admin
    version = common.version(request)
    query = listing.ServerQuery(
        sort=_sort(request, admin),
        limit=common.limit_of(request),
        marker=params.get("marker"),
        name=params.get("name"),
        image=params.get("image"),
        reservation_id=params.get("reservation_id"),
        key_name=params.get("key_name"),
        uuid=params.get("uuid") if admin else None,
    )
    all_tenants = common.query_bool(request, "all_tenants", strict=False) or (
        "all_tenants" in params and params.get("all_tenants") == ""
    )
    if all_tenants:
        common.authorize(request, f"{SERVERS}:index:get_all_tenants")
        query.project_id = params.get("project_id") or params.get("tenant_id")
    else:
        query.project_id = context.project_id
    if admin:
        query.host, query.node = params.get("host"), params.get("node")
        query.user_id = params.get("user_id")
    query.ip = _address_filter(request, "ip")
    if version >= (2, 5) or admin:
        query.ip6 = _address_filter(request, "ip6")
    if (version >= (2, 83) or admin) and params.get("availability_zone"):
        query.availability_zone = params.get("availability_zone")
    if version >= (2, 73) and "locked" in params:
        query.locked = common.query_bool(request, "locked")
    deleted = common.query_bool(request, "deleted", strict=False)
    if deleted and not admin:
        raise Forbidden("Only administrators may list deleted instances")
    query.changes_since = moment_param(request, "changes-since")
    if version >= (2, 66):
        query.changes_before = moment_param(request, "changes-before")
    if query.changes_since and query.changes_before and query.changes_since > query.changes_before:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    query.deleted = True if deleted else (None if query.changes_since else False)
    if params.getlist("status"):
        vm_states, task_states = states.states_for_status(params.getlist("status"))
        if not vm_states:
            if admin:
                raise BadRequest("Invalid status value")
            return None
        query.vm_states, query.task_states = vm_states, task_states
    if version >= (2, 26):
        query.tags, query.tags_any = _csv(request, "tags"), _csv(request, "tags-any")
        query.not_tags, query.not_tags_any = (
            _csv(request, "not-tags"),
            _csv(request, "not-tags-any"),
        )
    if params.get("flavor"):
        try:
            async with common.reading(request) as session:
                flavor = await flavors.get(
                    session, params["flavor"], flavors.Viewer(context.project_id, True)
                )
        except NotFound:
            return None
        query.flavor_id = flavor.id
    return query


async def _listing(request: Request, detail: bool) -> Response:
    common.authorize(request, f"{SERVERS}:{'detail' if detail else 'index'}")
    view = ServerView.of(request)
    query = await _query(request)

    def page(connection: Connection) -> tuple[list[Any], Page | None]:
        """The servers and, for details, what they carry: one unit of work."""
        servers = listing.list_in(connection, query, brief=not detail) if query else []
        return servers, view.load(connection, servers) if detail else None

    servers, loaded = await work.read(handler.db(request), page)
    if loaded is not None:
        items = [view.detail(s, loaded) for s in servers]
    else:
        items = [view.brief(s) for s in servers]
    limit = query.limit if query else common.limit_of(request)
    path = "servers/detail" if detail else "servers"
    return fast_json(common.paged(request, "servers", items, limit, path=path))


async def list_servers(request: Request) -> Response:
    return await _listing(request, detail=False)


async def list_servers_detail(request: Request) -> Response:
    return await _listing(request, detail=True)


# --- one server ----------------------------------------------------------------------------


async def render(request: Request, uuid: str, *, extras: bool = True) -> dict[str, Any]:
    """The full body of one server, as GET /servers/{id} shows it (`extras`: see
    ServerView.detail)."""
    async with common.reading(request) as session:
        server = await server_of(session, request, uuid)
    view = ServerView.of(request, server.project_id)
    page = await work.read(
        handler.db(request), lambda connection: view.load(connection, [server], groups=True)
    )
    return {"server": view.detail(server, page, groups=True, extras=extras)}


async def show_server(request: Request) -> Response:
    uuid = request.path_params["server_id"]
    async with common.reading(request) as session:
        await server_of(session, request, uuid, f"{SERVERS}:show")
    return json_response(await render(request, uuid))


async def update_server(request: Request) -> Response:
    uuid = request.path_params["server_id"]
    data = await read_json(request)
    body = common.validate(server_schemas.ServerUpdate, data)
    server_schemas.refuse_newer(
        data["server"], common.version(request), server_schemas.UPDATE_FIELDS_SINCE
    )
    values = column_updates(data["server"], body.server)
    auto_disk_config = server_schemas.auto_disk_config(body.server.disk_config)
    async with common.writing(request) as session:
        server = await server_of(session, request, uuid, f"{SERVERS}:update")
        lifecycle.check_unlocked(server, who(request))
        if auto_disk_config is not None:  # Nova sets it unchecked
            values["system_metadata"] = {
                **(server.system_metadata or {}),
                **disk_config.entry(auto_disk_config),
            }
        if values:
            await instances.transition(session, uuid, values)
        if "pinned_availability_zone" in data["server"]:
            await pinning.repin(session, server, body.server.pinned_availability_zone)
    # before 2.75 Nova answers an update with the basic view only
    return json_response(await render(request, uuid, extras=common.at_least(request, "2.75")))


async def delete_server(request: Request) -> Response:
    await delete(request, request.path_params["server_id"], f"{SERVERS}:delete")
    return no_content()


async def delete(request: Request, uuid: str, rule: str) -> None:
    """Delete the server `uuid` if the caller passes `rule` (DELETE /servers/{id}, and
    forceDelete: with soft delete off, Nova's force_delete is the same delete)."""
    async with common.reading(request) as session:
        server = await server_of(session, request, uuid, rule)
        alive = await host_up(session, request, server.host)
    caller = who(request)
    cast, local = await work.write(
        handler.db(request),
        lambda connection: lifecycle.delete_in(connection, server, caller, alive),
    )
    if local:
        await placement(request).release(uuid)
        await networking.release_ports(handler.db(request), uuid, server.system_metadata or {})
        migration = (server.system_metadata or {}).get("migration_uuid")
        if migration:
            await placement(request).release(migration)
    await shelve.drop_snapshot(handler.db(request), request.app.state.image_store, server)
    await send(request, cast)
