"""Running a write again when a concurrent one won the race.

Claims compare-and-swap the generation of every provider they touch; the loser of a
race sees its swap match no row and rolls back. When the caller never named those
generations (allocation writes), nothing it asserted was wrong, so the transaction is
simply run again on fresh data, as upstream retries its allocation writes. Deadlocks
and lock timeouts (PostgreSQL, MariaDB) and SQLite's "database is locked" are the same
kind of lost race.

On SQLite, where the database admits one writer at a time anyway, writers of this
process queue on an asyncio lock instead: SQLite's own busy handler polls with
growing sleeps, which left the database idle between claims and cut throughput.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database
from nimbus.placement.errors import ConcurrentUpdate, GenerationRace
from nimbus.placement.work import Work, write

LOG = logging.getLogger(__name__)

Result = TypeVar("Result")

#: Upstream's default for [placement] allocation_conflict_retry_count.
ATTEMPTS = 10
#: Seconds of random delay per attempt already made, before the next one.
BACKOFF = 0.002
_TRANSIENT_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock
_TRANSIENT_MYSQL_ERRORS = {1205, 1213}  # lock wait timeout, deadlock


def transient(error: DBAPIError) -> bool:
    """Whether a database error means "lost a race, try again" on some backend."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _TRANSIENT_MYSQL_ERRORS:
        return True
    return "database is locked" in str(orig)


_WRITERS: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def serialized(db: Database) -> AsyncIterator[None]:
    """Exclusive among this process's placement writers on SQLite; a no-op elsewhere."""
    if db.backend != "sqlite":
        yield
        return
    lock = _WRITERS.setdefault(db, asyncio.Lock())
    async with lock:
        yield


async def retrying(
    db: Database, work: Callable[[AsyncSession], Awaitable[Result]], attempts: int = ATTEMPTS
) -> Result:
    """`work` in a transaction of its own, run again (up to `attempts`) on a lost race."""

    async def once() -> Result:
        async with db.transaction() as session:
            return await work(session)

    return await _again(db, once, attempts)


async def retrying_work(db: Database, work: Work[Result], attempts: int = ATTEMPTS) -> Result:
    """A synchronous unit of work (`nimbus.placement.work`) in a write transaction of
    its own, run again (up to `attempts`) on a lost race."""
    return await _again(db, lambda: write(db, work), attempts)


async def _again(db: Database, once: Callable[[], Awaitable[Result]], attempts: int) -> Result:
    for attempt in range(1, attempts + 1):
        try:
            async with serialized(db):
                return await once()
        except GenerationRace:
            LOG.debug("provider generation race, attempt %d of %d", attempt, attempts)
        except DBAPIError as error:
            if not transient(error):
                raise
            LOG.debug("transient database error, attempt %d of %d: %s", attempt, attempts, error)
        # A little jitter keeps many racing writers from colliding again in lockstep.
        await asyncio.sleep(random.uniform(0, BACKOFF * attempt))
    raise ConcurrentUpdate(
        "Inventory and/or allocations changed while attempting to allocate: "
        "Another thread concurrently updated the data. Please retry your update"
    )
