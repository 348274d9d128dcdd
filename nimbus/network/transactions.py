"""Running a network write again when a concurrent one won the race.

Allocations (addresses, MACs, segmentation ids) pick a free value and insert it; the
unique constraints on the tables refuse a value another transaction took first, and
the loser simply runs again on fresh data. On SQLite, writers of one process queue on
the same lock as placement's (one writer at a time is all SQLite admits anyway).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database
from nimbus.placement.transactions import serialized, transient

LOG = logging.getLogger(__name__)

Result = TypeVar("Result")

ATTEMPTS = 10
BACKOFF = 0.002


async def retrying(
    db: Database, work: Callable[[AsyncSession], Awaitable[Result]], attempts: int = ATTEMPTS
) -> Result:
    """`work` in a transaction of its own, run again (up to `attempts`) on a lost race:
    a unique constraint refusing a value taken meanwhile, a deadlock, a busy SQLite."""
    for attempt in range(1, attempts + 1):
        try:
            async with serialized(db), db.transaction() as session:
                return await work(session)
        except IntegrityError:
            if attempt == attempts:
                raise
            LOG.debug("unique value taken concurrently, attempt %d of %d", attempt, attempts)
        except DBAPIError as error:
            if not transient(error) or attempt == attempts:
                raise
            LOG.debug("transient database error, attempt %d of %d: %s", attempt, attempts, error)
        await asyncio.sleep(random.uniform(0, BACKOFF * attempt))
    raise AssertionError("unreachable")
