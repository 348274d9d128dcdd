"""Instance faults: why a server went to ERROR (its ``fault`` in the API)."""

from __future__ import annotations

from sqlalchemy import select
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
    session.add(
        InstanceFault(
            instance_uuid=instance_uuid,
            code=code,
            message=message[:MESSAGE_LENGTH],
            details=details if details is not None else message,
            host=host,
        )
    )


async def latest(session: AsyncSession, uuids: list[str]) -> dict[str, InstanceFault]:
    """The newest fault of each instance among `uuids` that has one."""
    if not uuids:
        return {}
    rows = await session.scalars(
        select(InstanceFault)
        .where(InstanceFault.instance_uuid.in_(uuids))
        .order_by(InstanceFault.id)
    )
    return {fault.instance_uuid: fault for fault in rows.all()}
