"""Units of placement work: one transaction as one synchronous function.

Placement's hot paths (claims, releases, candidate searches) are written as plain
synchronous SQLAlchemy Core code taking a `Connection`, with statements built once at
import time. How that function runs depends on the database:

- **SQLite (a file)**: in a small thread pool, on a native pysqlite engine opened on
  the same file. The whole transaction is one hop to a thread, where every statement
  costs tens of microseconds; through the asyncio adapter each statement is four
  round trips between the event loop and aiosqlite's thread (cursor, execute, fetch,
  close) and costs ten times as much CPU. Writes open with ``BEGIN IMMEDIATE``, so
  they hold SQLite's single write lock from their first read; reads open a deferred
  transaction, so every statement of a search sees one snapshot. sqlite3 releases
  the GIL while SQLite works, so a long search does not stall the event loop.
- **PostgreSQL, MariaDB (and in-memory SQLite)**: on the async engine through
  `AsyncConnection.run_sync`, i.e. the same function in a greenlet, one transaction.

Either way the unit runs in one transaction that commits when it returns and rolls
back when it raises; retries of lost races stay with the caller
(`transactions.retrying_work`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database, _sqlite_pragmas

Result = TypeVar("Result")
#: A unit of work: synchronous Core code on a connection, inside one transaction.
Work = Callable[[Connection], Result]

#: Off switch for the thread path (tests run both paths on SQLite).
THREADED = True
#: Reading threads per database. Writers have one thread of their own (they queue on
#: one lock anyway), so a claim never waits behind a long search. More threads only
#: fight over the GIL: measured with 32 concurrent boots, 4 readers cost 25% more CPU
#: per boot than 1 or 2.
READERS = 2
_WRITE = "nimbus_placement_write"


class _SqliteThreads:
    """A pysqlite engine on the database's file, and the threads that use it."""

    def __init__(self, db: Database) -> None:
        url = db.url.set(drivername="sqlite")
        self.engine: Engine = create_engine(
            url,
            pool_size=READERS + 1,
            max_overflow=0,
            # Driver-level autocommit: transactions begin where `_begin` says, and
            # how (sqlite3's implicit BEGIN would come only before the first write).
            connect_args={"check_same_thread": False, "isolation_level": None},
        )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        event.listen(self.engine, "begin", _begin)
        self.readers = concurrent.futures.ThreadPoolExecutor(
            READERS, thread_name_prefix="placement-read"
        )
        self.writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="placement-write")

    def close(self) -> None:
        self.readers.shutdown(wait=False)
        self.writer.shutdown(wait=False)
        self.engine.dispose()

    def run(self, work: Work[Result], write: bool) -> Result:
        """In a pool thread: `work` in one transaction."""
        with self.engine.connect() as connection:
            if write:
                connection = connection.execution_options(**{_WRITE: True})
            with connection.begin():
                return work(connection)


def _begin(connection: Connection) -> None:
    """Writers take SQLite's write lock at once; readers get one snapshot."""
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_THREADS: weakref.WeakKeyDictionary[Database, _SqliteThreads] = weakref.WeakKeyDictionary()


def _file_backed(db: Database) -> bool:
    database = db.url.database or ""
    return database not in ("", ":memory:") and "mode=memory" not in str(db.url)


def _threads(db: Database) -> _SqliteThreads | None:
    """The thread path for `db`, made on first use; None where it does not apply."""
    if not THREADED or db.backend != "sqlite" or not _file_backed(db):
        return None
    found = _THREADS.get(db)
    if found is None:
        found = _THREADS[db] = _SqliteThreads(db)
        weakref.finalize(db, found.close)
    return found


async def _run(db: Database, work: Work[Result], write: bool) -> Result:
    threads = _threads(db)
    if threads is not None:
        loop = asyncio.get_running_loop()
        executor = threads.writer if write else threads.readers
        return await loop.run_in_executor(executor, threads.run, work, write)
    if write:
        async with db.engine.begin() as connection:
            return await connection.run_sync(work)
    async with db.engine.connect() as connection:
        return await connection.run_sync(work)


async def read(db: Database, work: Work[Result]) -> Result:
    """`work` in a read-only transaction (one snapshot on SQLite and PostgreSQL)."""
    return await _run(db, work, write=False)


async def write(db: Database, work: Work[Result]) -> Result:
    """`work` in one write transaction: committed if it returns, rolled back if not.

    One attempt; `transactions.retrying_work` runs it again after a lost race.
    """
    return await _run(db, work, write=True)


async def in_session(session: AsyncSession, work: Work[Result]) -> Result:
    """`work` inside a session's current transaction (for callers that hold one)."""
    connection = await session.connection()
    return await connection.run_sync(work)


def close(db: Database) -> None:
    """Release the thread path's connections and threads for `db` (if any)."""
    found = _THREADS.pop(db, None)
    if found is not None:
        found.close()


def rows(connection: Connection, statement: Any, params: dict[str, Any] | None = None) -> list:
    """All rows of `statement` as tuples."""
    return connection.execute(statement, params or {}).all()
