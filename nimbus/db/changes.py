"""Change counters: one number per family of tables, bumped by every transaction that
writes to any of them.

A process may cache what it derived from those tables (a resolved token, a user's
roles) and trust the cache for as long as the family's counter has not moved; reading
the counter is one primary-key lookup. Every process shares the counters through the
database, so a write in one API process invalidates the caches of all of them at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from nimbus.db.models.changes import FAMILY_OF, ChangeCounter

_PENDING = "nimbus.changed_families"


def _mark(session: Session, table: str | None) -> None:
    family = FAMILY_OF.get(table or "")
    if family is not None:
        session.info.setdefault(_PENDING, set()).add(family)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        _mark(session, instance.__table__.name)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _mark(state.session, state.statement.table.name)


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    session.flush()  # objects still pending are written (and marked) before we count
    for family in sorted(session.info.pop(_PENDING, ())):
        session.execute(
            update(ChangeCounter)
            .where(ChangeCounter.family == family)
            .values(value=ChangeCounter.value + 1)
        )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


async def current(session: AsyncSession, family: str) -> int:
    """The family's counter as committed now."""
    value = await session.scalar(select(ChangeCounter.value).where(ChangeCounter.family == family))
    return int(value or 0)
