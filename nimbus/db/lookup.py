"""Small query helpers every service's domain logic uses."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.errors import Conflict, NotFound

Row = TypeVar("Row")


async def get(session: AsyncSession, model: type[Row], ident: Any, what: str) -> Row:
    """The row with primary key `ident`, or NotFound naming `what` as upstream does."""
    row = await session.get(model, ident) if ident is not None else None
    if row is None:
        raise NotFound(f"Could not find {what}: {ident}.")
    return row


def where_equal(query: Select, model: type, filters: dict[str, Any]) -> Select:
    """Add `column == value` for each filter whose value is not None."""
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    return query


async def all_rows(session: AsyncSession, query: Select) -> list[Any]:
    return list((await session.scalars(query)).all())


async def flush_unique(session: AsyncSession, message: str) -> None:
    """Flush pending rows; a unique-constraint clash becomes a 409 with `message`."""
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(message) from None
