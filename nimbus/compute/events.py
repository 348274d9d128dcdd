"""Events as the daemons pass them over the bus: what ran, when it started, how it
ended. The conductor writes them under the action of the request that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import actions
from nimbus.compute.actions import Caller
from nimbus.db.base import utcnow


class Event(TypedDict):
    name: str
    started: str
    result: str
    host: str | None
    details: str | None


def begin(name: str, host: str | None) -> Event:
    return Event(
        name=name, started=utcnow().isoformat(), result=actions.SUCCESS, host=host, details=None
    )


def failed(event: Event, error: BaseException | str) -> Event:
    return {**event, "result": actions.ERROR, "details": str(error)}


def _fields(event: Event) -> dict[str, Any]:
    return {
        "started": datetime.fromisoformat(event["started"]),
        "result": event["result"],
        "host": event["host"],
        "details": event["details"],
    }


async def save(session: AsyncSession, instance_uuid: str, caller: Caller, event: Event) -> None:
    await actions.add_event(session, instance_uuid, caller, event["name"], **_fields(event))


def save_in(connection: Connection, instance_uuid: str, caller: Caller, event: Event) -> None:
    """`save` as part of a unit of work (nimbus.placement.work)."""
    actions.add_event_in(connection, instance_uuid, caller, event["name"], **_fields(event))


def is_error(event: Event | dict[str, Any] | None) -> bool:
    return bool(event) and event.get("result") == actions.ERROR  # type: ignore[union-attr]
