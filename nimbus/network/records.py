"""What every network resource shares: lookup within the caller's scope, revisions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.network.errors import NeutronError
from nimbus.network.scope import Scope

Row = TypeVar("Row")


async def get_owned(
    session: AsyncSession,
    model: type[Row],
    row_id: str,
    scope: Scope,
    missing: Callable[[str], NeutronError],
) -> Row:
    """The row, if the caller may see it; another project's row is "not found"."""
    row = await session.get(model, row_id)
    if row is None or not scope.owns(row.project_id):  # type: ignore[attr-defined]
        raise missing(row_id)
    return row


async def listing(session: AsyncSession, model: type[Row], scope: Scope) -> list[Row]:
    query = scope.restrict(select(model), model.project_id)  # type: ignore[attr-defined]
    return list((await session.scalars(query)).all())


def update(row: Any, changes: dict[str, Any]) -> None:
    """Apply `changes` and bump the revision (standard-attr-revisions), if any changed."""
    changed = False
    for key, value in changes.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        touch(row)


def touch(row: Any) -> None:
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = utcnow()
