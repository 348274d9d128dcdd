"""Shelving: a server put away as an image, its host's resources given back.

Shelve snapshots the powered-off guest into ``<name>-shelved`` (SHELVED); offloading
(at once when ``shelved_offload_time`` is 0, Nova's default, or by an admin later)
destroys the guest and frees its claims (SHELVED_OFFLOADED, no host). Unshelve powers
a shelved guest back on where it is, or schedules an offloaded one again and boots it
from the snapshot; the snapshot is deleted once the server runs. The allowed states
are Nova's (nova/compute/api.py shelve, shelve_offload, unshelve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import actions, instances, pinning, request_spec, states, zones
from nimbus.compute.boot import Who
from nimbus.compute.lifecycle import Cast, check_unlocked, snapshot_image, to_host
from nimbus.db.engine import Database
from nimbus.db.models.cell import Instance
from nimbus.db.models.image import Image
from nimbus.errors import BadRequest, Conflict
from nimbus.storage.images import ImageStore

SHELVABLE = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)
UNSHELVABLE = (states.SHELVED, states.SHELVED_OFFLOADED)
#: system_metadata keys a shelved server carries (as Nova's).
IMAGE_KEY = "shelved_image_id"
HOST_KEY = "shelved_host"
AT_KEY = "shelved_at"

#: "not given" for the zone of an unshelve (None means "unpin", from 2.91)
UNSET: Any = object()


async def shelve(session: AsyncSession, instance: Instance, who: Who) -> Cast:
    check_unlocked(instance, who)
    instances.check_state(instance, actions.SHELVE, SHELVABLE)
    image_id = await snapshot_image(
        session, instance, f"{instance.display_name}-shelved", {}, who, image_type="snapshot"
    )
    await instances.start_task(session, instance, actions.SHELVE, states.SHELVING, SHELVABLE)
    actions.start(session, instance.uuid, actions.SHELVE, who.caller())
    return to_host(instance, "shelve_instance", who, image_id=image_id)


async def shelve_offload(session: AsyncSession, instance: Instance, who: Who) -> Cast:
    check_unlocked(instance, who)
    await instances.start_task(
        session, instance, actions.SHELVE_OFFLOAD, states.SHELVING_OFFLOADING, (states.SHELVED,)
    )
    actions.start(session, instance.uuid, actions.SHELVE_OFFLOAD, who.caller())
    return to_host(instance, "shelve_offload_instance", who)


@dataclass(frozen=True)
class Unshelve:
    """Where to unshelve (2.77 a zone; 2.91 a host, or a null zone that unpins)."""

    zone: Any = UNSET
    host: str | None = None


async def unshelve(session: AsyncSession, instance: Instance, who: Who, where: Unshelve) -> Cast:
    """A shelved server powers on where it is; an offloaded one goes back to the
    conductor to be scheduled (in the zone or on the host asked for)."""
    check_unlocked(instance, who)
    instances.check_state(instance, actions.UNSHELVE, UNSHELVABLE)
    offloaded = instance.vm_state == states.SHELVED_OFFLOADED
    if not offloaded and (where.zone is not UNSET or where.host):
        raise Conflict(
            "The unshelve action with availability zone or host is only allowed for a "
            f"shelved offloaded instance; instance {instance.uuid} is in vm_state shelved."
        )
    values: dict[str, Any] = {}
    if where.zone is not UNSET:
        available, _ = zones.split(await zones.all_services(session))
        if where.zone is not None and where.zone not in available:
            raise BadRequest(f"The requested availability zone is not available: {where.zone}")
        values["availability_zone"] = where.zone
        await pinning.pin(session, instance.uuid, where.zone)
    await instances.start_task(
        session, instance, actions.UNSHELVE, states.UNSHELVING, UNSHELVABLE, **values
    )
    actions.start(session, instance.uuid, actions.UNSHELVE, who.caller())
    if not offloaded:
        return to_host(instance, "unshelve_instance", who)
    return Cast(
        "conductor",
        "unshelve_instance",
        None,
        {"uuid": instance.uuid, "caller": who.caller(), "host": where.host},
    )


def unshelve_spec(spec: request_spec.Spec, instance: Any, host: str | None) -> dict[str, Any]:
    """What the scheduler gets for an offloaded server: its spec, the zone it has
    now, and a host an admin asked for."""
    wanted = dict(spec)
    wanted["availability_zone"] = instance.availability_zone
    if host:
        wanted["force_host"] = host
    return wanted


def shelved_metadata(instance: dict[str, Any], image_id: str, host: str, at: str) -> dict[str, Any]:
    """The instance's system_metadata once shelved."""
    return {
        **(instance.get("system_metadata") or {}),
        IMAGE_KEY: image_id,
        HOST_KEY: host,
        AT_KEY: at,
    }


def unshelved_metadata(instance: dict[str, Any]) -> dict[str, Any]:
    meta = dict(instance.get("system_metadata") or {})
    for key in (IMAGE_KEY, HOST_KEY, AT_KEY):
        meta.pop(key, None)
    return meta


async def drop_snapshot(db: Database, store: ImageStore, instance: Instance) -> None:
    """A shelved server being deleted takes its snapshot with it, as Nova's delete does
    (nothing else would ever delete it); an image already gone is no matter."""
    image_id = (instance.system_metadata or {}).get(IMAGE_KEY)
    if instance.vm_state not in UNSHELVABLE or not image_id:
        return
    async with db.transaction() as session:
        image = await session.get(Image, image_id)
        if image is None:
            return
        await session.delete(image)
    await store.delete(image_id)
