"""Rescue: the server boots from a rescue image (its own image, or the one asked for)
with its own root disk attached as a second disk, so that a broken system can be
repaired from outside; unrescue boots its own disk again. The allowed states are
Nova's (nova/compute/api.py rescue, unrescue)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import actions, instances, states
from nimbus.compute.boot import Who, find_image
from nimbus.compute.lifecycle import Cast, check_unlocked, to_host
from nimbus.db.models.cell import Instance
from nimbus.errors import BadRequest

RESCUABLE = (states.ACTIVE, states.STOPPED, states.ERROR)


async def rescue(
    session: AsyncSession,
    instance: Instance,
    who: Who,
    password: str,
    rescue_image_ref: str | None = None,
) -> Cast:
    check_unlocked(instance, who)
    instances.check_state(instance, actions.RESCUE, RESCUABLE)
    image_id = instance.image_ref
    if rescue_image_ref is not None:
        try:
            image_id = (await find_image(session, rescue_image_ref, who)).id
        except BadRequest:
            raise BadRequest(
                f"Requested rescue image '{rescue_image_ref}' is not supported"
            ) from None
    await instances.start_task(session, instance, actions.RESCUE, states.RESCUING, RESCUABLE)
    actions.start(session, instance.uuid, actions.RESCUE, who.caller())
    return to_host(
        instance, "rescue_instance", who, rescue_image_ref=image_id, admin_password=password
    )


async def unrescue(session: AsyncSession, instance: Instance, who: Who) -> Cast:
    check_unlocked(instance, who)
    await instances.start_task(
        session, instance, actions.UNRESCUE, states.UNRESCUING, (states.RESCUED,)
    )
    actions.start(session, instance.uuid, actions.UNRESCUE, who.caller())
    return to_host(instance, "unrescue_instance", who)
