"""Servers' network interfaces (Nova's os-interface) and their security groups
(the addSecurityGroup / removeSecurityGroup actions).

An interface is a port whose device is the server. Attaching and detaching go to the
server's compute agent (a call: the answer carries the new port), which binds or
releases the port and hot-plugs the NIC; the security group actions change the ports'
groups in the network domain (the network agent applies them).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common import handler
from nimbus.api.common.app import json_response
from nimbus.api.common.body import read_json
from nimbus.api.compute import common
from nimbus.api.compute.server_common import server_of, who
from nimbus.compute import instances, lifecycle, networking, states
from nimbus.db.models.network import Port
from nimbus.errors import BadRequest, Conflict, NotFound
from nimbus.network import ports
from nimbus.rpc import RemoteError, RPCTimeout

RULE = "os_compute_api:os-attach-interfaces"
#: States in which Nova attaches and detaches interfaces.
_ATTACHABLE = (states.ACTIVE, states.PAUSED, states.STOPPED)
#: Seconds the agent may take (a detach waits for the guest to release the NIC).
_TIMEOUT = 60


async def _view(session: Any, port: Port, request: Request) -> dict[str, Any]:
    fixed = (await ports.fixed_ips(session, [port.id]))[port.id]
    shown: dict[str, Any] = {
        "net_id": port.network_id,
        "port_id": port.id,
        "mac_addr": port.mac_address,
        "port_state": port.status,
        "fixed_ips": fixed,
    }
    if common.at_least(request, "2.70"):
        shown["tag"] = None
    return shown


async def list_interfaces(request: Request) -> Response:
    async with common.reading(request) as session:
        server = await server_of(session, request, request.path_params["server_id"], f"{RULE}:list")
        found = [
            await _view(session, p, request) for p in await ports.by_device(session, server.uuid)
        ]
    return json_response({"interfaceAttachments": found})


async def _port_of(session: Any, server: Any, port_id: str) -> Port:
    port = await session.get(Port, port_id)
    if port is None or port.device_id != server.uuid:
        raise NotFound("Network interface not found")
    return port


async def show_interface(request: Request) -> Response:
    async with common.reading(request) as session:
        server = await server_of(session, request, request.path_params["server_id"], f"{RULE}:show")
        port = await _port_of(session, server, request.path_params["port_id"])
        return json_response({"interfaceAttachment": await _view(session, port, request)})


def _wanted(data: Any) -> networking.Requested:
    body = (data or {}).get("interfaceAttachment") if isinstance(data, dict) else None
    if body is None:
        return networking.Requested()
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute interfaceAttachment.")
    net_id, port_id = body.get("net_id"), body.get("port_id")
    if net_id and port_id:
        raise BadRequest("Must not input both network_id and port_id")
    fixed = body.get("fixed_ips") or []
    if fixed and not net_id:
        raise BadRequest("Must input network_id when request IP address")
    address = fixed[0].get("ip_address") if fixed and isinstance(fixed[0], dict) else None
    return networking.Requested(net_id, port_id, address)


def _usable(request: Request, server: Any, method: str) -> None:
    """Nova's checks: on a host, not locked (but for admins), in a state that allows it."""
    lifecycle.check_on_a_host(server)
    lifecycle.check_unlocked(server, who(request))
    if server.vm_state not in _ATTACHABLE or server.task_state is not None:
        raise Conflict(
            f"Cannot '{method}' instance {server.uuid} while it is in vm_state {server.vm_state}"
        )


async def _call(request: Request, server: Any, method: str, **kwargs: Any) -> Any:
    try:
        return await request.app.state.bus.call(
            "compute",
            method,
            server=server.host,
            timeout=_TIMEOUT,
            instance=instances.record(server),
            **kwargs,
        )
    except RemoteError as error:
        if error.exc_type in ("PortNotFound", "NetworkNotFound", "SubnetNotFound"):
            raise NotFound(error.message) from None
        if error.exc_type in ("PortInUse", "IpAddressInUse"):
            raise Conflict(error.message) from None
        raise BadRequest(f"Failed to {method.replace('_', ' ')}: {error.message}") from None
    except RPCTimeout as error:
        raise Conflict(f"Failed to {method.replace('_', ' ')}: {error}") from None


async def create_interface(request: Request) -> Response:
    wanted = _wanted(await read_json(request))
    async with common.reading(request) as session:
        server = await server_of(
            session, request, request.path_params["server_id"], f"{RULE}:create"
        )
        _usable(request, server, "attach_interface")
        if not wanted.port_id and not wanted.network_id:
            wanted = networking.Requested(
                network_id=await networking.auto_network(session, server.project_id)
            )
            if not wanted.network_id:
                raise BadRequest("No network available for the interface")
        try:
            await networking.check_requested(session, server.project_id, [wanted])
        except BadRequest as error:
            raise NotFound(str(error.message)) from None
    if wanted.port_id:
        # Noted first, and the server read again: if the plug fails, the agent must
        # unbind the user's port, not delete it.
        await networking.keep_user_port(handler.db(request), server.uuid, wanted.port_id)
        async with common.reading(request) as session:
            server = await server_of(session, request, server.uuid)
    port_id = await _call(request, server, "attach_interface", requested=wanted.__dict__)
    async with common.reading(request) as session:
        port = await session.get(Port, port_id)
        return json_response({"interfaceAttachment": await _view(session, port, request)})


async def delete_interface(request: Request) -> Response:
    async with common.reading(request) as session:
        server = await server_of(
            session, request, request.path_params["server_id"], f"{RULE}:delete"
        )
        _usable(request, server, "detach_interface")
        port = await _port_of(session, server, request.path_params["port_id"])
    await _call(request, server, "detach_interface", port_id=port.id)
    return Response(status_code=202)


def _security_group(add: bool) -> Any:
    async def run(session, server, body, caller, request):  # type: ignore[no-untyped-def]
        """{"addSecurityGroup" | "removeSecurityGroup": {"name": group}}"""
        group = body.get("name") if isinstance(body, dict) else None
        if not isinstance(group, str) or not group.strip():
            raise BadRequest("Security group name cannot be empty")
        try:
            await networking.set_security_group(
                session, server.uuid, server.project_id, group.strip(), add=add
            )
        except networking.SecurityGroupNotFound as error:
            raise NotFound(error.message) from None

    return run


#: The server actions of this module (nimbus.api.compute.server_actions runs them).
ACTIONS = {
    "addSecurityGroup": ("os_compute_api:os-security-groups:add", _security_group(True)),
    "removeSecurityGroup": ("os_compute_api:os-security-groups:remove", _security_group(False)),
}
