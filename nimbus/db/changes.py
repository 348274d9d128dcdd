"""Change counters: one number per family of tables, bumped by every transaction that
writes to any of them.

A process may cache what it derived from those tables (a resolved token, a user's
roles) and trust the cache for as long as the family's counter has not moved; reading
the counter is one primary-key lookup. Every process shares the counters through the
database, so a write in one API process invalidates the caches of all of them at once.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Connection, Select, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from nimbus.db.base import ApiBase
from nimbus.db.models.changes import FAMILY_OF, ChangeCounter, watch

_PENDING = "nimbus.changed_families"

#: Every network table (`net_*`) is one family: the network agent re-reads the topology
#: when its counter moves (nimbus.services.network).
NETWORK = "network"
watch(NETWORK, sorted(name for name in ApiBase.metadata.tables if name.startswith("net_")))


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


def _counter(family: str) -> Select[tuple[int]]:
    return select(ChangeCounter.value).where(ChangeCounter.family == family)


async def current(session: AsyncSession, family: str) -> int:
    """The family's counter as committed now."""
    return int(await session.scalar(_counter(family)) or 0)


def current_in(connection: Connection, family: str) -> int:
    """`current` as part of a unit of work (nimbus.placement.work)."""
    return int(connection.execute(_counter(family)).scalar() or 0)


async def ensure(session: AsyncSession, family: str) -> None:
    """Create the family's counter row if no migration did (a family added after its
    tables, as `network`); a concurrent creator's row is as good as ours."""
    if await session.scalar(_counter(family)) is None:
        with contextlib.suppress(IntegrityError):
            async with session.begin_nested():
                session.add(ChangeCounter(family=family, value=0))
