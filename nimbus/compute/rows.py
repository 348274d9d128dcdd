"""Writing rows whose uniqueness the database guards."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.errors import Conflict


async def add_unique(session: AsyncSession, row: Any, conflict: str) -> None:
    """Add `row`; losing a race to a concurrent writer of the same unique key (after
    the caller's own check passed) is the 409 `conflict`, not a 500."""
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None
