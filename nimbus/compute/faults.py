"""Instance faults: why a server went to ERROR (its ``fault`` in the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.cell import InstanceFault

#: The fault message column holds 255 characters; details keep the rest.
MESSAGE_LENGTH = 255


def add(
    session: AsyncSession,
    instance_uuid: str,
    message: str,
    *,
    code: int = 500,
    details: str | None = None,
    host: str | None = None,
) -> None:
    session.add(InstanceFault(**row(instance_uuid, message, code, details, host)))


def add_in(
    connection: Connection,
    instance_uuid: str,
    message: str,
    *,
    code: int = 500,
    details: str | None = None,
    host: str | None = None,
) -> None:
    """`add` as part of a unit of work (nimbus.placement.work)."""
    connection.execute(insert(InstanceFault), row(instance_uuid, message, code, details, host))


def row(
    instance_uuid: str, message: str, code: int, details: str | None, host: str | None
) -> dict[str, Any]:
    return {
        "instance_uuid": instance_uuid,
        "code": code,
        "message": message[:MESSAGE_LENGTH],
        "details": details if details is not None else message,
        "host": host,
    }


def latest_in(connection: Connection, uuids: list[str]) -> dict[str, Any]:
    """The newest fault (a row) of each instance among `uuids` that has one."""
    if not uuids:
        return {}
    rows = connection.execute(
        select(*InstanceFault.__table__.columns)
        .where(InstanceFault.instance_uuid.in_(uuids))
        .order_by(InstanceFault.id)
    )
    return {fault.instance_uuid: fault for fault in rows.all()}
