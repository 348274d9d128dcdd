"""Instance actions and their events: the history `openstack server event list` shows.

The API records an action per request that changes a server (keyed by the request id);
the conductor and the agents add events to it as they work (``compute_reboot_instance``
Success/Error with their start and finish times). An event that fails marks its action
with the message "Error", as Nova does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import String, Text, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import UTCDateTime, utcnow
from nimbus.db.models.cell import InstanceAction, InstanceActionEvent
from nimbus.errors import NotFound

# Action names (nova.compute.instance_actions).
CREATE = "create"
DELETE = "delete"
REBOOT = "reboot"
STOP = "stop"
START = "start"
PAUSE = "pause"
UNPAUSE = "unpause"
SUSPEND = "suspend"
RESUME = "resume"
REBUILD = "rebuild"
RESIZE = "resize"
CONFIRM_RESIZE = "confirmResize"
REVERT_RESIZE = "revertResize"
CREATE_IMAGE = "createImage"
LOCK = "lock"
UNLOCK = "unlock"
UPDATE = "update"

SUCCESS = "Success"
ERROR = "Error"


class Caller(TypedDict):
    """Who asked, passed along with every cast so events find their action."""

    request_id: str
    user_id: str
    project_id: str


def start(session: AsyncSession, instance_uuid: str, action: str, caller: Caller) -> None:
    """Record that `caller` started `action` on the instance (flushed with the request's
    other writes)."""
    session.add(
        InstanceAction(
            action=action,
            instance_uuid=instance_uuid,
            request_id=caller["request_id"],
            user_id=caller["user_id"],
            project_id=caller["project_id"],
        )
    )


async def add_event(
    session: AsyncSession,
    instance_uuid: str,
    caller: Caller,
    event: str,
    *,
    started: datetime,
    result: str = SUCCESS,
    host: str | None = None,
    details: str | None = None,
) -> None:
    """A finished event of the action `caller` started; nothing if there is no such
    action (a periodic task acting on its own). One INSERT … SELECT finds the action
    and adds the event, since every build and action writes several."""
    now = utcnow()
    action = select(
        InstanceAction.id,
        literal(event),
        literal(started, UTCDateTime()),
        literal(now, UTCDateTime()),
        literal(result),
        literal(host, String()),
        literal(details, Text()),
        literal(details if result == ERROR else None, Text()),
    ).where(
        InstanceAction.request_id == caller["request_id"],
        InstanceAction.instance_uuid == instance_uuid,
    )
    columns = ["action_id", "event", "start_time", "finish_time", "result", "host", "details"]
    await session.execute(insert(InstanceActionEvent).from_select([*columns, "traceback"], action))
    values: dict[str, Any] = {"updated_at": now}
    if result == ERROR:
        values["message"] = ERROR
    await session.execute(
        update(InstanceAction)
        .where(
            InstanceAction.request_id == caller["request_id"],
            InstanceAction.instance_uuid == instance_uuid,
        )
        .values(**values)
    )


# --- reading (os-instance-actions) -----------------------------------------------------


async def list_actions(
    session: AsyncSession,
    instance_uuid: str,
    *,
    limit: int | None = None,
    marker: str | None = None,
    changes_since: datetime | None = None,
    changes_before: datetime | None = None,
) -> list[InstanceAction]:
    """An instance's actions, newest first; `marker` is a request id (2.58 paging)."""
    query = select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid)
    if changes_since is not None:
        query = query.where(InstanceAction.updated_at >= changes_since)
    if changes_before is not None:
        query = query.where(InstanceAction.updated_at <= changes_before)
    if marker is not None:
        found = await session.scalar(
            select(InstanceAction).where(
                InstanceAction.instance_uuid == instance_uuid,
                InstanceAction.request_id == marker,
            )
        )
        if found is None:
            raise NotFound(f"Marker {marker} could not be found.")
        query = query.where(
            (InstanceAction.start_time < found.start_time)
            | ((InstanceAction.start_time == found.start_time) & (InstanceAction.id < found.id))
        )
    query = query.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def get_action(session: AsyncSession, instance_uuid: str, request_id: str) -> InstanceAction:
    found = await session.scalar(
        select(InstanceAction).where(
            InstanceAction.instance_uuid == instance_uuid,
            InstanceAction.request_id == request_id,
        )
    )
    if found is None:
        raise NotFound(f"Action {request_id} not found")
    return found


async def events_of(session: AsyncSession, action_id: int) -> list[InstanceActionEvent]:
    rows = await session.scalars(
        select(InstanceActionEvent)
        .where(InstanceActionEvent.action_id == action_id)
        .order_by(InstanceActionEvent.start_time, InstanceActionEvent.id)
    )
    return list(rows.all())
