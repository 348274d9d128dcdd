"""Instance actions and their events: the history `openstack server event list` shows.

The API records an action per request that changes a server (keyed by the request id);
the conductor and the agents add events to it as they work (``compute_reboot_instance``
Success/Error with their start and finish times). An event that fails marks its action
with the message "Error", as Nova does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, String, Text, bindparam, insert, select, update
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
RESET_STATE = "resetState"
UNLOCK = "unlock"
UPDATE = "update"
SHELVE = "shelve"
SHELVE_OFFLOAD = "shelveOffload"
UNSHELVE = "unshelve"
RESCUE = "rescue"
UNRESCUE = "unrescue"
CREATE_BACKUP = "createBackup"
MIGRATE = "migrate"
EVACUATE = "evacuate"

SUCCESS = "Success"
ERROR = "Error"


class Caller(TypedDict):
    """Who asked, passed along with every cast so events find their action."""

    request_id: str
    user_id: str
    project_id: str


def row(instance_uuid: str, action: str, caller: Caller) -> dict[str, Any]:
    """The ``instance_action`` row recording that `caller` started `action`."""
    return {
        "action": action,
        "instance_uuid": instance_uuid,
        "request_id": caller["request_id"],
        "user_id": caller["user_id"],
        "project_id": caller["project_id"],
    }


def start_in(connection: Connection, instance_uuid: str, action: str, caller: Caller) -> None:
    """`start` as part of a unit of work (nimbus.placement.work)."""
    connection.execute(insert(_ACTION), row(instance_uuid, action, caller))


def start(session: AsyncSession, instance_uuid: str, action: str, caller: Caller) -> None:
    """Record that `caller` started `action` on the instance (flushed with the request's
    other writes)."""
    session.add(InstanceAction(**row(instance_uuid, action, caller)))


#: Core tables, not the mapped classes: a session would take an ORM insert with
#: parameters for a bulk insert of objects.
_ACTION = InstanceAction.__table__
_EVENT = InstanceActionEvent.__table__


def _of_the_action() -> Any:
    return (
        _ACTION.c.request_id == bindparam("the_request", type_=String()),
        _ACTION.c.instance_uuid == bindparam("the_instance", type_=String()),
    )


#: One INSERT … SELECT that finds the action and adds the event (every build and
#: action writes several), and the UPDATE that stamps the action (and marks it failed
#: for a failed event); built once, they cost only their parameters per event.
_ADD_EVENT = insert(_EVENT).from_select(
    ["action_id", "event", "start_time", "finish_time", "result", "host", "details", "traceback"],
    select(
        _ACTION.c.id,
        bindparam("event", type_=String()),
        bindparam("started", type_=UTCDateTime()),
        bindparam("now", type_=UTCDateTime()),
        bindparam("result", type_=String()),
        bindparam("host", type_=String()),
        bindparam("details", type_=Text()),
        bindparam("traceback", type_=Text()),
    ).where(*_of_the_action()),
)
_STAMP = {
    SUCCESS: update(_ACTION)
    .where(*_of_the_action())
    .values(updated_at=bindparam("now", type_=UTCDateTime())),
    ERROR: update(_ACTION)
    .where(*_of_the_action())
    .values(updated_at=bindparam("now", type_=UTCDateTime()), message=ERROR),
}


def _event_statements(
    instance_uuid: str,
    caller: Caller,
    event: str,
    started: datetime,
    result: str,
    host: str | None,
    details: str | None,
) -> list[tuple[Any, dict[str, Any]]]:
    """The event's two statements with their parameters."""
    now = utcnow()
    action = {"the_request": caller["request_id"], "the_instance": instance_uuid}
    added = {
        **action,
        "event": event,
        "started": started,
        "now": now,
        "result": result,
        "host": host,
        "details": details,
        "traceback": details if result == ERROR else None,
    }
    stamp = _STAMP[ERROR if result == ERROR else SUCCESS]
    return [(_ADD_EVENT, added), (stamp, {**action, "now": now})]


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
    action (a periodic task acting on its own)."""
    for statement, params in _event_statements(
        instance_uuid, caller, event, started, result, host, details
    ):
        await session.execute(statement, params)


def add_event_in(
    connection: Connection,
    instance_uuid: str,
    caller: Caller,
    event: str,
    *,
    started: datetime,
    result: str = SUCCESS,
    host: str | None = None,
    details: str | None = None,
) -> None:
    """`add_event` as part of a unit of work (nimbus.placement.work)."""
    for statement, params in _event_statements(
        instance_uuid, caller, event, started, result, host, details
    ):
        connection.execute(statement, params)


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
