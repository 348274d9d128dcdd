"""Engines and transactions for SQLite, PostgreSQL and MariaDB.

Users give plain URLs (`sqlite:///…`, `postgresql://…`, `mysql://…`); we pick the
asyncio driver for each so that no query ever blocks the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
}


def async_url(url: str) -> URL:
    """Map a user's database URL onto the asyncio driver for its backend."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database backend {backend!r} in {url!r}")
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=ASYNC_DRIVERS[backend])
    if parsed.get_backend_name() == "mysql":
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the one writer; busy_timeout queues writers.

    The timeout is long because SQLite's busy handler polls (every 100 ms at worst)
    rather than queues: beside the one-writer thread of nimbus.placement.work, busy
    with back-to-back units under a burst of boots or deletes, a writer of the async
    driver was measured waiting 6 s for its turn (a 10 s timeout is the likely cause
    of the one 500 a benchmark's burst of deletes met).
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """One database: an engine and a way to run a unit of work in one transaction."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.url.get_backend_name() != "sqlite":
            kwargs.update(pool_pre_ping=True, pool_recycle=3600)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together or not at all (no half-written rows)."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only; nothing is committed."""
        async with self._sessions() as session:
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
