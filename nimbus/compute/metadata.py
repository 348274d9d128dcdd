"""Server metadata (user key/value pairs) and tags, with Nova's limits and the state
checks Nova applies before changing them."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import quotas, states
from nimbus.compute.instances import InstanceInvalidState
from nimbus.db.base import utcnow
from nimbus.db.models.cell import Instance, InstanceMetadata, Tag
from nimbus.errors import BadRequest, NotFound

#: Nova's MAX_TAG_COUNT per instance.
MAX_TAGS = 50
#: vm_states in which metadata may change (Nova's update_instance_metadata).
_METADATA_STATES = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
#: vm_states in which tags may change (Nova's _check_instance_in_valid_state).
_TAG_STATES = (
    states.ACTIVE,
    states.PAUSED,
    states.SUSPENDED,
    states.STOPPED,
    states.SHELVED,
    states.SHELVED_OFFLOADED,
)


def _check(instance: Instance, action: str, vm_states: tuple[str, ...]) -> None:
    if instance.vm_state not in vm_states:
        raise InstanceInvalidState(action, instance.uuid, "vm_state", instance.vm_state)
    if instance.task_state is not None:
        raise InstanceInvalidState(action, instance.uuid, "task_state", instance.task_state)


async def get_all(session: AsyncSession, uuid: str) -> dict[str, str]:
    rows = await session.execute(
        select(InstanceMetadata.key, InstanceMetadata.value).where(
            InstanceMetadata.instance_uuid == uuid
        )
    )
    return dict(rows.all())


async def get_one(session: AsyncSession, uuid: str, key: str) -> str:
    row = await session.get(InstanceMetadata, (uuid, key))
    if row is None:
        raise NotFound("Metadata item was not found")
    return row.value


async def write(
    session: AsyncSession, instance: Instance, items: dict[str, str], *, replace: bool
) -> dict[str, str]:
    """Set `items` (replacing everything when `replace`); the resulting metadata."""
    _check(instance, "update metadata", _METADATA_STATES)
    current = {} if replace else await get_all(session, instance.uuid)
    merged = {**current, **items}
    await quotas.check(session, instance.project_id, instance.user_id, metadata_items=len(merged))
    await replace_rows(session, instance, merged)
    return merged


async def replace_rows(session: AsyncSession, instance: Instance, items: dict[str, str]) -> None:
    """Make the server's metadata exactly `items` (callers have checked state/quota)."""
    await session.execute(
        delete(InstanceMetadata).where(InstanceMetadata.instance_uuid == instance.uuid)
    )
    for key, value in items.items():
        session.add(InstanceMetadata(instance_uuid=instance.uuid, key=key, value=value))
    instance.updated_at = utcnow()


async def delete_one(session: AsyncSession, instance: Instance, key: str) -> None:
    _check(instance, "delete metadata", _METADATA_STATES)
    row = await session.get(InstanceMetadata, (instance.uuid, key))
    if row is None:
        raise NotFound("Metadata item was not found")
    await session.delete(row)
    instance.updated_at = utcnow()


# --- tags -------------------------------------------------------------------------------


async def tags(session: AsyncSession, uuid: str) -> list[str]:
    rows = await session.scalars(select(Tag.tag).where(Tag.instance_uuid == uuid).order_by(Tag.tag))
    return list(rows.all())


async def set_tags(session: AsyncSession, instance: Instance, wanted: list[str]) -> list[str]:
    _check(instance, "update tags", _TAG_STATES)
    unique = list(dict.fromkeys(wanted))
    if len(unique) > MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    await session.execute(delete(Tag).where(Tag.instance_uuid == instance.uuid))
    for tag in unique:
        session.add(Tag(instance_uuid=instance.uuid, tag=tag))
    instance.updated_at = utcnow()
    return sorted(unique)


async def add_tag(session: AsyncSession, instance: Instance, tag: str) -> bool:
    """Add one tag; False if the server already had it."""
    _check(instance, "update tag", _TAG_STATES)
    if await session.get(Tag, (instance.uuid, tag)) is not None:
        return False
    if len(await tags(session, instance.uuid)) >= MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    session.add(Tag(instance_uuid=instance.uuid, tag=tag))
    instance.updated_at = utcnow()
    return True


async def has_tag(session: AsyncSession, uuid: str, tag: str) -> None:
    if await session.get(Tag, (uuid, tag)) is None:
        raise NotFound(f"Tag {tag} could not be found.")


async def remove_tag(session: AsyncSession, instance: Instance, tag: str) -> None:
    _check(instance, "delete tag", _TAG_STATES)
    row = await session.get(Tag, (instance.uuid, tag))
    if row is None:
        raise NotFound(f"Tag {tag} could not be found.")
    await session.delete(row)
    instance.updated_at = utcnow()


async def clear_tags(session: AsyncSession, instance: Instance) -> None:
    _check(instance, "delete tags", _TAG_STATES)
    await session.execute(delete(Tag).where(Tag.instance_uuid == instance.uuid))
    instance.updated_at = utcnow()
