"""Moving a server to another host by an operator: cold migration and evacuation
(and `restore`, the other admin-ish action on a server's whereabouts).

A cold migration is a resize to the same flavor (the conductor and agents run the
resize path; the migration record says "migration"): the server's own host is never a
candidate (Nova excludes it unless the host reports COMPUTE_SAME_HOST_COLD_MIGRATE,
which no driver here does), it ends in VERIFY_RESIZE and is confirmed or reverted.
An evacuation rebuilds the server of a host that is down on another host, from its
image (no shared storage here); the dead host's guest is reaped when it comes back.
Allowed states are Nova's (nova/compute/api.py resize, evacuate).
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import actions, hosts, instances, states
from nimbus.compute.boot import Who
from nimbus.compute.lifecycle import Cast, check_unlocked
from nimbus.db.models.cell import Instance, Service
from nimbus.errors import BadRequest, Conflict, NotFound

MIGRATABLE = (states.ACTIVE, states.STOPPED)
EVACUABLE = (states.ACTIVE, states.STOPPED, states.ERROR)


async def _compute_service(session: AsyncSession, host: str) -> Service:
    service = await session.scalar(
        select(Service).where(Service.host == host, Service.binary == hosts.COMPUTE)
    )
    if service is None:
        raise BadRequest(f"Compute host {host} could not be found.")
    return service


async def migrate(
    session: AsyncSession, instance: Instance, who: Who, host: str | None = None
) -> Cast:
    """The resize path with the current flavor, to `host` if an admin named one."""
    check_unlocked(instance, who)
    instances.check_state(instance, actions.MIGRATE, MIGRATABLE)
    if host is not None:
        if host == instance.host:
            raise BadRequest("The target host can't be the same one.")
        await _compute_service(session, host)
    flavor = instances.current_flavor(instance)
    await instances.start_task(
        session,
        instance,
        actions.MIGRATE,
        states.RESIZE_PREP,
        MIGRATABLE,
        flavor={"current": flavor, "old": flavor, "new": flavor},
    )
    actions.start(session, instance.uuid, actions.MIGRATE, who.caller())
    return Cast(
        "conductor",
        "resize_instance",
        None,
        {"uuid": instance.uuid, "caller": who.caller(), "host": host},
    )


async def evacuate(
    session: AsyncSession,
    instance: Instance,
    who: Who,
    service_down_time: float,
    *,
    host: str | None,
    password: str,
    stop: bool,
) -> Cast:
    """Only the server of a host that is down may be evacuated; it is rebuilt
    elsewhere, stopped when `stop` (from 2.95, as Nova)."""
    check_unlocked(instance, who)
    instances.check_state(instance, actions.EVACUATE, EVACUABLE)
    if not instance.host:
        raise Conflict(f"Instance {instance.uuid} is not ready")
    if host is not None:
        try:
            await _compute_service(session, host)
        except BadRequest:
            raise NotFound(f"Compute host {host} not found.") from None
        if host == instance.host:
            raise BadRequest("The target host can't be the same one.")
    source = await _compute_service(session, instance.host)
    if hosts.is_up(source, service_down_time):  # a 400 upstream (ComputeServiceInUse)
        raise BadRequest(f"Compute service of {instance.host} is still in use.")
    await instances.start_task(session, instance, actions.EVACUATE, states.REBUILDING, EVACUABLE)
    actions.start(session, instance.uuid, actions.EVACUATE, who.caller())
    return Cast(
        "conductor",
        "evacuate_instance",
        None,
        {
            "uuid": instance.uuid,
            "caller": who.caller(),
            "host": host,
            "admin_password": password,
            "stop": stop,
        },
    )


def restore(instance: Instance, who: Who) -> NoReturn:
    """Nova restores a soft-deleted server. Servers are never soft-deleted here
    (reclaim_instance_interval is 0, Nova's default, and cannot be changed), so this
    is always the 409 Nova gives a server in any other state."""
    check_unlocked(instance, who)
    raise instances.InstanceInvalidState("restore", instance.uuid, "vm_state", instance.vm_state)
