"""Migration records: one per resize, cold migration or evacuation, written by the
conductor as the move progresses and kept afterwards (``os-migrations`` lists them).

Statuses follow Nova's for a cold move: ``migrating`` (the conductor chose a host and
moved the claims), ``post-migrating`` (the source handed the disk over), ``finished``
(the destination runs it: VERIFY_RESIZE), then ``confirmed`` or ``reverted``; an
evacuation goes ``accepted`` → ``done``; any failure on the way is ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import states
from nimbus.db.base import utcnow
from nimbus.db.models.migration import Migration
from nimbus.errors import BadRequest

RESIZE = "resize"
COLD = "migration"
EVACUATION = "evacuation"
LIVE = "live-migration"
TYPES = (COLD, RESIZE, LIVE, EVACUATION)

#: Statuses of a move not over yet (a new status is only written over one of these).
IN_PROGRESS = ("accepted", "pre-migrating", "migrating", "post-migrating", "finished")


@dataclass(frozen=True)
class Move:
    """What the conductor knows when it starts a move."""

    uuid: str
    instance: Any
    migration_type: str
    dest_compute: str | None
    dest_node: str | None
    old_flavor_id: int | None
    new_flavor_id: int | None
    status: str = "migrating"


async def start(session: AsyncSession, move: Move) -> None:
    """Record a move starting (in the conductor's transaction that marks the instance)."""
    instance = move.instance
    await session.execute(
        insert(Migration).values(
            uuid=move.uuid,
            instance_uuid=instance.uuid,
            project_id=instance.project_id,
            user_id=instance.user_id,
            migration_type=move.migration_type,
            status=move.status,
            source_compute=instance.host,
            source_node=instance.node,
            dest_compute=move.dest_compute,
            dest_node=move.dest_node,
            dest_host=None,
            old_instance_type_id=move.old_flavor_id,
            new_instance_type_id=move.new_flavor_id,
            hidden=False,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
    )


def _set_status(instance_uuid: str, status: str) -> Any:
    return (
        update(Migration)
        .where(Migration.instance_uuid == instance_uuid, Migration.status.in_(IN_PROGRESS))
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def set_status(session: AsyncSession, instance_uuid: str, status: str) -> None:
    await session.execute(_set_status(instance_uuid, status))


def status_after(changes: dict[str, Any], failed: bool) -> str | None:
    """The status an agent's report of a move step means (None: not a move step)."""
    if failed:
        return "error"
    if changes.get("task_state") == states.RESIZE_MIGRATED:
        return "post-migrating"
    if changes.get("vm_state") == states.RESIZED:
        return "finished"
    if "task_state" in changes and changes["task_state"] is None:
        return "done"  # an evacuation's rebuild ended (other moves end otherwise)
    return None


def progress_in(
    connection: Connection, instance_uuid: str, changes: dict[str, Any], failed: bool
) -> None:
    """Follow an agent's report on the instance's move in progress, if it has one."""
    status = status_after(changes, failed)
    if status is None:
        return
    statement = _set_status(instance_uuid, status)
    if status == "done":
        statement = statement.where(Migration.migration_type == EVACUATION)
    connection.execute(statement)


@dataclass(frozen=True)
class Filters:
    """The os-migrations query, parsed (None: not filtered)."""

    host: str | None = None
    source_compute: str | None = None
    status: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    hidden: bool | None = None
    project_id: str | None = None
    user_id: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None


async def list_migrations(
    session: AsyncSession,
    filters: Filters,
    *,
    newest_first: bool,
    limit: int | None = None,
    marker: str | None = None,
) -> list[Migration]:
    """Migrations matching `filters` (Nova's migration_get_all_by_filters); newest
    first with paging from 2.59, in id order before."""
    query = select(Migration)
    if filters.host is not None:
        query = query.where(
            or_(Migration.source_compute == filters.host, Migration.dest_compute == filters.host)
        )
    elif filters.source_compute is not None:
        query = query.where(Migration.source_compute == filters.source_compute)
    for column, value in (
        (Migration.status, filters.status),
        (Migration.instance_uuid, filters.instance_uuid),
        (Migration.migration_type, filters.migration_type),
        (Migration.hidden, filters.hidden),
        (Migration.project_id, filters.project_id),
        (Migration.user_id, filters.user_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.changes_since is not None:
        query = query.where(Migration.updated_at >= filters.changes_since)
    if filters.changes_before is not None:
        query = query.where(Migration.updated_at <= filters.changes_before)
    if marker is not None:
        found = await session.scalar(select(Migration).where(Migration.uuid == marker))
        if found is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(
            (Migration.created_at < found.created_at)
            | ((Migration.created_at == found.created_at) & (Migration.id < found.id))
        )
    if newest_first:
        query = query.order_by(Migration.created_at.desc(), Migration.id.desc())
    else:
        query = query.order_by(Migration.id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())
