"""POST /servers/{id}/action: one body key names the action (Nova's server actions).

Each action: its policy rule, its body schema, and the domain call that checks the
state, marks the task and returns the cast to send once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.common.body import read_json
from nimbus.api.compute import common, floating_ips, interfaces, server_moves, server_schemas
from nimbus.api.compute.server_common import column_updates, send, server_of, who
from nimbus.api.compute.servers import delete, render
from nimbus.compute import boot, instances, lifecycle
from nimbus.compute.boot import Who
from nimbus.compute.lifecycle import Cast
from nimbus.db.models.cell import Instance
from nimbus.errors import BadRequest, Conflict
from nimbus.rpc import RemoteError, RPCTimeout

#: (session, server, action body, caller, request) → cast to send (or None)
Run = Callable[[AsyncSession, Instance, Any, Who, Request], Awaitable[Cast | None]]


def _power(action: lifecycle.PowerAction) -> Run:
    async def run(session: AsyncSession, server: Instance, _: Any, caller: Who, __: Request):
        return await lifecycle.power(session, server, action, caller)

    return run


async def _reboot(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    reboot = common.validate(server_schemas.Reboot, body)
    return await lifecycle.reboot(session, server, reboot.type.upper() == "HARD", caller)


async def _resize(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    resize = common.validate(server_schemas.Resize, body)
    auto_disk_config = server_schemas.auto_disk_config(resize.disk_config)
    return await lifecycle.resize(session, server, resize.flavorRef, caller, auto_disk_config)


async def _confirm(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    return await lifecycle.confirm_resize(session, server, caller)


async def _revert(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    return await lifecycle.revert_resize(session, server, caller)


async def _lock(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    reason = None
    if body is not None and common.at_least(request, "2.73"):
        reason = common.validate(server_schemas.Lock, body).locked_reason
    elif body:
        raise BadRequest(f"Invalid input for field/attribute lock. Value: {body}.")
    await lifecycle.lock(session, server, caller, reason)
    return None


async def _unlock(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    await lifecycle.unlock(session, server, caller)
    return None


async def _reset_state(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    wanted = common.validate(server_schemas.ResetState, body)
    await lifecycle.reset_state(session, server, wanted.state, caller)
    return None


async def _inject_network_info(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    """Accepted and done: guests here take their network settings from DHCP and the
    metadata service, so there is nothing to push into them (Nova's libvirt driver
    does nothing for this action either)."""
    return None


async def _rebuild(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    rebuild = common.validate(server_schemas.Rebuild, body)
    server_schemas.refuse_newer(body, common.version(request), server_schemas.REBUILD_FIELDS_SINCE)
    updates = column_updates(body, rebuild)
    password = rebuild.adminPass or boot.generate_password()
    request.state.admin_password = password
    return await lifecycle.rebuild(
        session,
        server,
        rebuild.imageRef,
        caller,
        password,
        updates,
        rebuild.metadata,
        server_schemas.auto_disk_config(rebuild.disk_config),
    )


async def _create_image(session, server, body, caller, request):  # type: ignore[no-untyped-def]
    wanted = common.validate(server_schemas.CreateImage, body)
    image_id, cast = await lifecycle.snapshot(
        session, server, wanted.name, wanted.metadata or {}, caller
    )
    request.state.image_id = image_id
    return cast


#: action key → (policy rule, run); the rule is checked against the server's owner.
ACTIONS: dict[str, tuple[str, Run]] = {
    "reboot": ("os_compute_api:servers:reboot", _reboot),
    "os-stop": ("os_compute_api:servers:stop", _power(lifecycle.STOP)),
    "os-start": ("os_compute_api:servers:start", _power(lifecycle.START)),
    "pause": ("os_compute_api:os-pause-server:pause", _power(lifecycle.PAUSE)),
    "unpause": ("os_compute_api:os-pause-server:unpause", _power(lifecycle.UNPAUSE)),
    "suspend": ("os_compute_api:os-suspend-server:suspend", _power(lifecycle.SUSPEND)),
    "resume": ("os_compute_api:os-suspend-server:resume", _power(lifecycle.RESUME)),
    "lock": ("os_compute_api:os-lock-server:lock", _lock),
    "unlock": ("os_compute_api:os-lock-server:unlock", _unlock),
    "resize": ("os_compute_api:servers:resize", _resize),
    "confirmResize": ("os_compute_api:servers:confirm_resize", _confirm),
    "revertResize": ("os_compute_api:servers:revert_resize", _revert),
    "rebuild": ("os_compute_api:servers:rebuild", _rebuild),
    "createImage": ("os_compute_api:servers:create_image", _create_image),
    "os-resetState": ("os_compute_api:os-admin-actions:reset_state", _reset_state),
    "injectNetworkInfo": (
        "os_compute_api:os-admin-actions:inject_network_info",
        _inject_network_info,
    ),
    **server_moves.ACTIONS,
    **floating_ips.ACTIONS,
    **interfaces.ACTIONS,
}
#: Actions answered with a body, not an empty 202.
_CONSOLE = "os-getConsoleOutput"
#: Nova's deferred-delete action that, soft delete being off, is a delete.
_FORCE_DELETE = "forceDelete"


async def server_action(request: Request) -> Response:
    uuid = request.path_params["server_id"]
    data = await read_json(request)
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequest("Malformed request body: one action expected.")
    ((name, body),) = data.items()
    if name == _CONSOLE:
        return await _console_output(request, uuid, body)
    if name == _FORCE_DELETE:
        return await _force_delete(request, uuid)
    if name not in ACTIONS:
        raise BadRequest(f"There is no such action: {name}")
    rule, run = ACTIONS[name]
    caller = who(request)
    async with common.writing(request) as session:
        server = await server_of(session, request, uuid, rule)
        cast = await run(session, server, body, caller, request)
    await send(request, cast)
    return await _answer(request, name, uuid)


async def _answer(request: Request, name: str, uuid: str) -> Response:
    if name == "rebuild":
        return json_response(await _rebuilt(request, uuid), 202)
    if name in ("createImage", "createBackup"):
        image_id = request.state.image_id
        location = f"{common.base_url(request)}/images/{image_id}"
        if common.at_least(request, "2.45"):
            return json_response({"image_id": image_id}, 202)
        return Response(status_code=202, headers={"Location": location})
    if name == "rescue":  # 200 with the password, as Nova keeps it
        return json_response({"adminPass": request.state.admin_password})
    if name == "evacuate":  # 200; the password only until 2.13
        if common.at_least(request, "2.14"):
            return Response(status_code=200)
        return json_response({"adminPass": request.state.admin_password})
    # Nova keeps confirmResize's 204 for backward compatibility (every other action is 202)
    return Response(status_code=204 if name == "confirmResize" else 202)


async def _rebuilt(request: Request, uuid: str) -> dict[str, Any]:
    """Nova's rebuild answer: the basic view before 2.75 (with the key name from 2.54),
    the full one from 2.75; user data as `user_data` from 2.57, never as the extended
    attribute; the new admin password."""
    body = await render(request, uuid, extras=common.at_least(request, "2.75"))
    shown = body["server"]
    shown.pop("OS-EXT-SRV-ATTR:user_data", None)
    async with common.reading(request) as session:
        server = await server_of(session, request, uuid)
    if common.at_least(request, "2.54"):
        shown["key_name"] = server.key_name
    if common.at_least(request, "2.57"):
        shown["user_data"] = server.user_data
    shown["adminPass"] = request.state.admin_password
    return body


async def _force_delete(request: Request, uuid: str) -> Response:
    """Nova's forceDelete (any vm and task state; a locked server is a 409 for non-admins):
    without soft delete (reclaim_instance_interval 0, Nova's default too) nothing
    waits for reclaim, so it deletes the server as DELETE does, answered 202."""
    await delete(request, uuid, "os_compute_api:os-deferred-delete:force")
    return Response(status_code=202)


async def _console_output(request: Request, uuid: str, body: Any) -> Response:
    wanted = common.validate(server_schemas.ConsoleOutput, body or {})
    length = None if wanted.length is None else int(wanted.length)
    if length is not None and length < -1:
        raise BadRequest(f"Invalid input for field/attribute length. Value: {length}.")
    async with common.reading(request) as session:
        server = await server_of(session, request, uuid, "os_compute_api:os-console-output")
        lifecycle.check_on_a_host(server)
        record = instances.record(server)
    try:
        output = await request.app.state.bus.call(
            "compute",
            "get_console_output",
            server=server.host,
            timeout=30,
            instance=record,
            length=None if length in (None, -1) else length,
        )
    except (RemoteError, RPCTimeout) as error:
        raise Conflict(f"Unable to get console output: {error}") from None
    return json_response({"output": output})
