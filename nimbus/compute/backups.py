"""createBackup: a snapshot of the server kept as a backup image (``image_type``
backup, its ``backup_type``), of which only the `rotation` newest of that server and
type are kept: older ones are deleted once the new one is uploaded (Nova's
_rotate_backups). Allowed states are Nova's (nova/compute/api.py backup); as there, a
locked server may still be backed up."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from nimbus.compute import actions, instances, states
from nimbus.compute.boot import Who
from nimbus.compute.lifecycle import SNAPSHOTTABLE, Cast, snapshot_image, to_host
from nimbus.db.models.cell import Instance
from nimbus.db.models.image import Image, ImageProperty


async def backup(
    session: AsyncSession,
    instance: Instance,
    who: Who,
    name: str,
    backup_type: str,
    rotation: int,
    metadata: dict[str, str],
) -> tuple[str, Cast]:
    """The queued backup image and the cast that fills it, then rotates."""
    instances.check_state(instance, actions.CREATE_BACKUP, SNAPSHOTTABLE)
    image_id = await snapshot_image(
        session, instance, name, {**metadata, "backup_type": backup_type}, who, "backup"
    )
    await instances.start_task(
        session, instance, actions.CREATE_BACKUP, states.IMAGE_BACKUP, SNAPSHOTTABLE
    )
    actions.start(session, instance.uuid, actions.CREATE_BACKUP, who.caller())
    cast = to_host(
        instance,
        "backup_instance",
        who,
        image_id=image_id,
        backup_type=backup_type,
        rotation=rotation,
    )
    return image_id, cast


async def beyond_rotation(
    session: AsyncSession, instance_uuid: str, backup_type: str, rotation: int
) -> list[str]:
    """The ids of the server's backups of `backup_type` older than the `rotation`
    newest (what a rotation deletes)."""
    owner = aliased(ImageProperty)
    kind = aliased(ImageProperty)
    typed = aliased(ImageProperty)
    query = (
        select(Image.id)
        .join(owner, and_(owner.image_id == Image.id, owner.name == "instance_uuid"))
        .join(kind, and_(kind.image_id == Image.id, kind.name == "image_type"))
        .join(typed, and_(typed.image_id == Image.id, typed.name == "backup_type"))
        .where(
            owner.value == instance_uuid,
            kind.value == "backup",
            typed.value == backup_type,
            Image.status != "deleted",
        )
        .order_by(Image.created_at.desc(), Image.id.desc())
        .offset(rotation)
    )
    return list((await session.scalars(query)).all())
