"""Server actions that put a server away or move it: shelve, shelveOffload, unshelve
(with 2.77's zone and 2.91's host), rescue and unrescue, createBackup, migrate,
evacuate and restore. Merged into server_actions.ACTIONS; each returns the cast to
send after the commit."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictInt
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from nimbus.api.common.body import Strict
from nimbus.api.compute import common
from nimbus.api.compute.schemas import Name
from nimbus.api.compute.server_schemas import Metadata
from nimbus.compute import backups, boot, moves, rescue, shelve
from nimbus.compute.boot import Who
from nimbus.compute.lifecycle import Cast
from nimbus.db.models.cell import Instance
from nimbus.errors import BadRequest


def _invalid(field: str, value: Any) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}.")


def _strict_keys(body: Any, allowed: set[str], name: str) -> dict[str, Any]:
    """An action body that is an object of `allowed` keys (Nova's additionalProperties
    false)."""
    if not isinstance(body, dict):
        raise _invalid(name, body)
    unknown = set(body) - allowed
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ('{sorted(unknown)[0]}' was unexpected)"
        )
    return body


def _host_field(body: dict[str, Any]) -> str | None:
    host = body.get("host")
    if host is not None and (not isinstance(host, str) or not host):
        raise _invalid("host", host)
    return host


async def _shelve(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    return await shelve.shelve(session, server, caller)


async def _shelve_offload(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    return await shelve.shelve_offload(session, server, caller)


def _where(request: Request, body: Any, owner: Instance) -> shelve.Unshelve:
    """The body of unshelve: null before 2.77; a zone from 2.77; from 2.91 a host
    (admins only) and a null zone, which unpins the server."""
    if body is None:
        return shelve.Unshelve()
    if not common.at_least(request, "2.77"):
        raise _invalid("unshelve", body)
    allowed = {"availability_zone"}
    if common.at_least(request, "2.91"):
        allowed.add("host")
    body = _strict_keys(body, allowed, "unshelve")
    zone = body.get("availability_zone", shelve.UNSET)
    if zone is None and not common.at_least(request, "2.91"):
        raise _invalid("availability_zone", zone)
    if zone is not shelve.UNSET and zone is not None and not isinstance(zone, str):
        raise _invalid("availability_zone", zone)
    host = _host_field(body)
    if host is not None:
        common.authorize(
            request,
            "os_compute_api:os-shelve:unshelve_to_host",
            project_id=owner.project_id,
            user_id=owner.user_id,
        )
    return shelve.Unshelve(zone=zone, host=host)


async def _unshelve(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    return await shelve.unshelve(session, server, caller, _where(request, body, server))


async def _rescue(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    """Nova's rescue body: null, or adminPass and rescue_image_ref (a uuid)."""
    wanted = {} if body is None else _strict_keys(body, {"adminPass", "rescue_image_ref"}, "rescue")
    password = wanted.get("adminPass", boot.generate_password())
    if not isinstance(password, str):
        raise _invalid("adminPass", password)
    image = wanted.get("rescue_image_ref")
    if image is not None and (not isinstance(image, str) or not common.is_uuid_like(image)):
        raise _invalid("rescue_image_ref", image)
    request.state.admin_password = password
    return await rescue.rescue(session, server, caller, password, image)


async def _unrescue(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    return await rescue.unrescue(session, server, caller)


class CreateBackup(Strict):
    name: Name
    backup_type: str
    rotation: Annotated[StrictInt, Field(ge=0)] | Annotated[str, Field(pattern=r"^[0-9]+$")]
    metadata: Metadata | None = None


async def _create_backup(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    wanted = common.validate(CreateBackup, body)
    image_id, cast = await backups.backup(
        session,
        server,
        caller,
        wanted.name,
        wanted.backup_type,
        int(wanted.rotation),
        wanted.metadata or {},
    )
    request.state.image_id = image_id
    return cast


async def _migrate(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    """A body (a host, admins only) from 2.56; ignored before, as upstream."""
    host = None
    if body is not None and common.at_least(request, "2.56"):
        host = _host_field(_strict_keys(body, {"host"}, "migrate"))
        if host is not None:
            common.authorize(
                request,
                "os_compute_api:os-migrate-server:migrate:host",
                project_id=server.project_id,
            )
    return await moves.migrate(session, server, caller, host)


#: The evacuate body's fields by microversion (onSharedStorage until 2.13, force
#: from 2.29 until 2.67).
_EVACUATE_FIELDS = (
    ("2.1", {"host", "onSharedStorage", "adminPass"}),
    ("2.14", {"host", "adminPass"}),
    ("2.29", {"host", "adminPass", "force"}),
    ("2.68", {"host", "adminPass"}),
)


async def _evacuate(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    wanted = _strict_keys(body, common.newest(request, _EVACUATE_FIELDS), "evacuate")
    if not common.at_least(request, "2.14") and "onSharedStorage" not in wanted:
        raise BadRequest("'onSharedStorage' is a required property")
    if wanted.get("onSharedStorage") in (True, "True", "true", "1"):
        raise BadRequest("Instance storage is not shared here: onSharedStorage must be false.")
    host = _host_field(wanted)
    if common.bool_from_string(str(wanted.get("force", False))) and not host:
        raise BadRequest("Can't force to a non-provided destination")
    password = wanted.get("adminPass") or boot.generate_password()
    if not isinstance(password, str):
        raise _invalid("adminPass", password)
    request.state.admin_password = password
    return await moves.evacuate(
        session,
        server,
        caller,
        request.app.state.service_down_time,
        host=host,
        password=password,
        stop=common.at_least(request, "2.95"),
    )


async def _restore(
    session: AsyncSession, server: Instance, body: Any, caller: Who, request: Request
) -> Cast:
    moves.restore(server, caller)


#: action key → (policy rule, run), as server_actions.ACTIONS.
ACTIONS: dict[str, tuple[str, Any]] = {
    "shelve": ("os_compute_api:os-shelve:shelve", _shelve),
    "shelveOffload": ("os_compute_api:os-shelve:shelve_offload", _shelve_offload),
    "unshelve": ("os_compute_api:os-shelve:unshelve", _unshelve),
    "rescue": ("os_compute_api:os-rescue", _rescue),
    "unrescue": ("os_compute_api:os-unrescue", _unrescue),
    "createBackup": ("os_compute_api:os-create-backup", _create_backup),
    "migrate": ("os_compute_api:os-migrate-server:migrate", _migrate),
    "evacuate": ("os_compute_api:os-evacuate", _evacuate),
    "restore": ("os_compute_api:os-deferred-delete:restore", _restore),
}
