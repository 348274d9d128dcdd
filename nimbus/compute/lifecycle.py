"""What happens to an existing server when a user acts on it: state checks, the task
state that marks the action in progress, the action record, and the cast that hands
the work to the conductor or the server's compute agent.

Each function runs in the request's transaction and returns the `Cast` to send once
it commits (a cast sent before the commit could reach an agent that then reads the
old state). The allowed states are Nova's (nova/compute/api.py): outside them the
API answers 409 "Cannot 'reboot' instance … while it is in vm_state …".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import actions, disk_config, instances, metadata, quotas, states
from nimbus.compute.boot import (
    Who,
    check_image_fits,
    find_flavor,
    find_image,
    image_properties_of,
    image_record,
    image_system_metadata,
)
from nimbus.compute.instances import InstanceInvalidState
from nimbus.db.models.cell import Instance
from nimbus.errors import BadRequest, Conflict
from nimbus.image import images


@dataclass
class Cast:
    """A message to send after the commit (``server`` None: the shared topic)."""

    topic: str
    method: str
    server: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


class InstanceIsLocked(Conflict):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"Instance {uuid} is locked")


def check_unlocked(instance: Instance, who: Who) -> None:
    """A locked server refuses changes except from admins (Nova's check_instance_lock)."""
    if instance.locked and not who.is_admin:
        raise InstanceIsLocked(instance.uuid)


def to_host(instance: Instance, method: str, who: Who, **kwargs: Any) -> Cast:
    """A cast to the server's own host (its agent does the work)."""
    return Cast(
        "compute",
        method,
        instance.host,
        {"instance": instances.record(instance), "caller": who.caller(), **kwargs},
    )


@dataclass(frozen=True)
class PowerAction:
    """A server action that only asks the agent to change the guest's power."""

    name: str
    method: str
    task_state: str
    vm_states: tuple[str, ...]


STOP = PowerAction(
    actions.STOP, "stop_instance", states.POWERING_OFF, (states.ACTIVE, states.ERROR)
)
START = PowerAction(actions.START, "start_instance", states.POWERING_ON, (states.STOPPED,))
PAUSE = PowerAction(actions.PAUSE, "pause_instance", states.PAUSING, (states.ACTIVE,))
UNPAUSE = PowerAction(actions.UNPAUSE, "unpause_instance", states.UNPAUSING, (states.PAUSED,))
SUSPEND = PowerAction(actions.SUSPEND, "suspend_instance", states.SUSPENDING, (states.ACTIVE,))
RESUME = PowerAction(actions.RESUME, "resume_instance", states.RESUMING, (states.SUSPENDED,))


async def power(session: AsyncSession, instance: Instance, action: PowerAction, who: Who) -> Cast:
    check_unlocked(instance, who)
    await instances.start_task(session, instance, action.name, action.task_state, action.vm_states)
    actions.start(session, instance.uuid, action.name, who.caller())
    return to_host(instance, action.method, who)


async def reset_state(session: AsyncSession, instance: Instance, vm_state: str, who: Who) -> None:
    """An admin forces the vm state (active or error) and clears the task, whatever the
    server was doing (Nova's os-resetState); recorded as an action, nothing is cast."""
    await instances.transition(session, instance.uuid, {"vm_state": vm_state, "task_state": None})
    actions.start(session, instance.uuid, actions.RESET_STATE, who.caller())


async def reboot(session: AsyncSession, instance: Instance, hard: bool, who: Who) -> Cast:
    """A soft reboot needs an idle active server; a hard one may interrupt other
    reboots and power changes and also revives stopped, paused or errored servers."""
    check_unlocked(instance, who)
    if hard:
        await instances.start_task(
            session,
            instance,
            actions.REBOOT,
            states.REBOOTING_HARD,
            states.ALLOW_HARD_REBOOT,
            states.ALLOW_REBOOT,
        )
    else:
        await instances.start_task(
            session, instance, actions.REBOOT, states.REBOOTING, states.ALLOW_SOFT_REBOOT
        )
    actions.start(session, instance.uuid, actions.REBOOT, who.caller())
    return to_host(instance, "reboot_instance", who, hard=hard)


def delete_in(
    connection: Connection, instance: Instance, who: Who, host_up: bool
) -> tuple[Cast | None, bool]:
    """Delete, as a unit of work (nimbus.placement.work): through the agent when the
    server has a live host (the cast to send); otherwise at once here (never
    scheduled, or its host is down: True, and the caller frees its claims)."""
    check_unlocked(instance, who)
    if instance.task_state == states.DELETING and host_up:
        return None, False  # already on its way
    actions.start_in(connection, instance.uuid, actions.DELETE, who.caller())
    if instance.host and host_up:
        instances.transition_in(connection, instance.uuid, {"task_state": states.DELETING})
        instance.task_state = states.DELETING
        return to_host(instance, "terminate_instance", who), False
    instances.destroy_in(connection, instance.uuid)
    return None, True


async def resize(
    session: AsyncSession,
    instance: Instance,
    flavor_ref: str,
    who: Who,
    auto_disk_config: bool | None = None,
) -> Cast:
    """To another flavor; the disk config becomes `auto_disk_config` (None: MANUAL,
    as Nova's resize sets it)."""
    check_unlocked(instance, who)
    instances.check_state(instance, actions.RESIZE, (states.ACTIVE, states.STOPPED))
    meta = instance.system_metadata or {}
    disk_config.check_resize(auto_disk_config, meta)
    current = instances.current_flavor(instance)
    try:
        new = await find_flavor(session, flavor_ref, who)
    except BadRequest:
        raise BadRequest("Unable to locate requested flavor.") from None
    if new["flavorid"] == current.get("flavorid"):
        raise BadRequest("When resizing, instances must change flavor!")
    if new["root_gb"] < current.get("root_gb", 0):
        raise BadRequest(
            "Server disk was unable to be resized because: Resizing to a smaller disk "
            "flavor is not allowed."
        )
    await quotas.check(
        session,
        instance.project_id,
        instance.user_id,
        cores=new["vcpus"] - current.get("vcpus", 0),
        ram=new["memory_mb"] - current.get("memory_mb", 0),
    )
    await instances.start_task(
        session,
        instance,
        actions.RESIZE,
        states.RESIZE_PREP,
        (states.ACTIVE, states.STOPPED),
        flavor={"current": current, "old": current, "new": new},
        system_metadata={**meta, **disk_config.entry(bool(auto_disk_config))},
    )
    actions.start(session, instance.uuid, actions.RESIZE, who.caller())
    return Cast(
        "conductor", "resize_instance", None, {"uuid": instance.uuid, "caller": who.caller()}
    )


async def _end_resize(
    session: AsyncSession,
    instance: Instance,
    who: Who,
    action: str,
    task_state: str,
    method: str,
    host: str | None,
) -> Cast:
    """Confirm or revert: only a resized server (with its migration) may."""
    check_unlocked(instance, who)
    instances.check_state(instance, action, (states.RESIZED,))
    if not (instance.system_metadata or {}).get("migration_uuid"):
        raise BadRequest("Instance has not been resized.")
    await instances.start_task(session, instance, action, task_state, (states.RESIZED,))
    actions.start(session, instance.uuid, action, who.caller())
    return Cast(
        "compute", method, host, {"instance": instances.record(instance), "caller": who.caller()}
    )


async def confirm_resize(session: AsyncSession, instance: Instance, who: Who) -> Cast:
    """Confirm on the source host, which drops the old guest."""
    source = (instance.system_metadata or {}).get("source_host") or instance.host
    return await _end_resize(
        session,
        instance,
        who,
        actions.CONFIRM_RESIZE,
        states.RESIZE_CONFIRMING,
        "confirm_resize",
        source,
    )


async def revert_resize(session: AsyncSession, instance: Instance, who: Who) -> Cast:
    """Revert on the destination (the server's host now), which drops the new guest."""
    return await _end_resize(
        session,
        instance,
        who,
        actions.REVERT_RESIZE,
        states.RESIZE_REVERTING,
        "revert_resize",
        instance.host,
    )


async def rebuild(
    session: AsyncSession,
    instance: Instance,
    image_ref: str,
    who: Who,
    admin_password: str,
    updates: dict[str, Any],
    new_metadata: dict[str, str] | None = None,
    auto_disk_config: bool | None = None,
) -> Cast:
    """Same server (id, host, claims), new image; name, metadata... may change too.
    What the server keeps of its image is the new image's (Nova drops the old
    image's properties), and so is its disk config unless `auto_disk_config` is given."""
    check_unlocked(instance, who)
    rebuildable = (states.ACTIVE, states.STOPPED, states.ERROR)
    instances.check_state(instance, actions.REBUILD, rebuildable)
    if new_metadata is not None:
        await quotas.check(
            session, instance.project_id, instance.user_id, metadata_items=len(new_metadata)
        )
        await metadata.replace_rows(session, instance, new_metadata)
    image = await find_image(session, image_ref, who, "Cannot find image for rebuild")
    record = image_record(image)
    auto = disk_config.chosen(auto_disk_config, record["properties"], image.id)
    check_image_fits(image, instances.current_flavor(instance))
    meta = {
        **{k: v for k, v in (instance.system_metadata or {}).items() if not k.startswith("image_")},
        **image_system_metadata(record),
        **disk_config.entry(auto),
    }
    await instances.start_task(
        session,
        instance,
        actions.REBUILD,
        states.REBUILDING,
        rebuildable,
        image_ref=image.id,
        system_metadata=meta,
        **updates,
    )
    actions.start(session, instance.uuid, actions.REBUILD, who.caller())
    return Cast(
        "conductor",
        "rebuild_instance",
        None,
        {"uuid": instance.uuid, "caller": who.caller(), "admin_password": admin_password},
    )


#: vm_states a snapshot may be taken in (Nova's snapshot()).
SNAPSHOTTABLE = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)


async def snapshot(
    session: AsyncSession, instance: Instance, name: str, metadata: dict[str, str], who: Who
) -> tuple[str, Cast]:
    """A queued image (owned by the server's project) that the agent fills."""
    check_unlocked(instance, who)
    instances.check_state(instance, actions.CREATE_IMAGE, SNAPSHOTTABLE)
    image_id = await snapshot_image(session, instance, name, metadata, who)
    await instances.start_task(
        session, instance, actions.CREATE_IMAGE, states.IMAGE_SNAPSHOT_PENDING, SNAPSHOTTABLE
    )
    actions.start(session, instance.uuid, actions.CREATE_IMAGE, who.caller())
    return image_id, to_host(instance, "snapshot_instance", who, image_id=image_id)


async def snapshot_image(
    session: AsyncSession,
    instance: Instance,
    name: str,
    metadata: dict[str, str],
    who: Who,
    image_type: str = "snapshot",
) -> str:
    """The queued image a snapshot of the server will fill (createImage, shelve,
    createBackup): the properties of the image it booted from, then Nova's own
    (`image_type`...), then the caller's `metadata`, which win."""
    meta = instance.system_metadata or {}
    properties = {
        **image_properties_of(meta),
        "instance_uuid": instance.uuid,
        "image_type": image_type,
        "base_image_ref": instance.image_ref or "",
        "user_id": who.user_id,
        **metadata,  # the caller's metadata wins, as in Nova (Tempest sets image_type)
    }
    properties = {
        k: v for k, v in properties.items() if v is not None and k not in images.READ_ONLY
    }
    image = await images.create_image(
        session,
        owner=instance.project_id,
        tags=[],
        properties=properties,
        name=name,
        disk_format=meta.get("image_disk_format") or "qcow2",
        container_format=meta.get("image_container_format") or "bare",
        visibility="private",
        min_disk=max(
            int(meta.get("image_min_disk", 0) or 0),
            instances.current_flavor(instance).get("root_gb", 0),
        ),
        min_ram=int(meta.get("image_min_ram", 0) or 0),
    )
    return image.id


async def lock(session: AsyncSession, instance: Instance, who: Who, reason: str | None) -> None:
    """Lock (a locked server refuses changes from non-admins); locking a locked server
    is fine for its owner, as upstream."""
    owner = "owner" if who.project_id == instance.project_id else "admin"
    await instances.transition(
        session, instance.uuid, {"locked": True, "locked_by": owner, "locked_reason": reason}
    )
    actions.start(session, instance.uuid, actions.LOCK, who.caller())


async def unlock(session: AsyncSession, instance: Instance, who: Who) -> None:
    """Only an admin may unlock what an admin locked (Nova's unlock_override rule is
    admin-only by default)."""
    if instance.locked and instance.locked_by == "admin" and not who.is_admin:
        raise InstanceIsLocked(instance.uuid)
    await instances.transition(
        session, instance.uuid, {"locked": False, "locked_by": None, "locked_reason": None}
    )
    actions.start(session, instance.uuid, actions.UNLOCK, who.caller())


def check_on_a_host(instance: Instance) -> None:
    """The console log lives on the instance's host: one that never got a host has none
    (Nova's check_instance_host: InstanceNotReady → 409). A stopped guest's log is still
    there, and Nova serves it."""
    if not instance.host:
        raise Conflict(f"Instance {instance.uuid} is not ready")


__all__ = ["Cast", "InstanceInvalidState", "InstanceIsLocked"]
