"""Moving a server to another host by an operator: cold migration and evacuation
(and `restore`, the other admin-ish action on a server's whereabouts).

A cold migration is a resize to the same flavor (the conductor and agents run the
resize path; the migration record says "migration"): the server's own host is never a
candidate (Nova excludes it unless the host reports COMPUTE_SAME_HOST_COLD_MIGRATE,
which no driver here does), it ends in VERIFY_RESIZE and is confirmed or reverted.
Hosts share no instance storage: a resize or cold migration to another host moves the
root disk through the image service (as Nova's cross-cell resize does), in a hidden
image of its own (`migration_image`) that the destination deletes once it is built.
An evacuation rebuilds the server of a host that is down on another host, from its
image (no shared storage here); the dead host's guest is reaped when it comes back.
Allowed states are Nova's (nova/compute/api.py resize, evacuate).
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import actions, hosts, instances, states
from nimbus.compute.actions import Caller
from nimbus.compute.boot import Who
from nimbus.compute.lifecycle import Cast, check_unlocked, snapshot_image
from nimbus.db.models.cell import Instance, Service
from nimbus.db.models.image import Image
from nimbus.errors import BadRequest, Conflict, NotFound

MIGRATABLE = (states.ACTIVE, states.STOPPED)
EVACUABLE = (states.ACTIVE, states.STOPPED, states.ERROR)
#: The image property that marks an image as a root disk moving to another host (its
#: value is the migration's uuid).
MIGRATION_IMAGE_PROPERTY = "nimbus_migration_uuid"


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


async def migration_image(
    session: AsyncSession, instance: Instance, migration: str, caller: Caller
) -> str:
    """The queued image the source fills with the root disk when a resize goes to
    another host (Nova's cross-cell resize snapshots the server so): a snapshot image
    private to the server's project and hidden from image lists, named after the
    server, marked with the migration's uuid."""
    who = Who(caller["project_id"], caller["user_id"], caller["request_id"])
    name = f"{instance.display_name}-resize-{instance.uuid[:8]}"
    image_id = await snapshot_image(
        session, instance, name, {MIGRATION_IMAGE_PROPERTY: migration}, who
    )
    image = await session.get(Image, image_id)
    assert image is not None  # made in this session just now
    image.os_hidden = True
    return image_id


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
