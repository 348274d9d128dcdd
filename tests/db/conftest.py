"""A throw-away database on each backend: SQLite, PostgreSQL and MariaDB.

PostgreSQL (127.0.0.1:5432, trust) and MariaDB (127.0.0.1:3306, root) run on this
project's machines and `make test` starts them when installed; a backend that cannot
be reached skips its variant with the reason.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from nimbus.db.engine import Database, async_url

SERVERS = {
    "postgresql": ("127.0.0.1", 5432, "postgresql://postgres@127.0.0.1:5432/{name}", "postgres"),
    "mariadb": ("127.0.0.1", 3306, "mysql://root@127.0.0.1:3306/{name}", ""),
}


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


async def _admin(backend: str, statement: str) -> None:
    _, _, template, admin_db = SERVERS[backend]
    engine = create_async_engine(
        async_url(template.format(name=admin_db)), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def server_database(backend: str) -> AsyncIterator[str]:
    """A new, empty database on a running server, dropped afterwards."""
    host, port, template, _ = SERVERS[backend]
    if not reachable(host, port):
        pytest.skip(f"{backend} is not running on {host}:{port} (install it to run this variant)")
    name = f"nimbus_test_{uuid.uuid4().hex[:12]}"
    await _admin(backend, f"CREATE DATABASE {name}")
    try:
        yield template.format(name=name)
    finally:
        await _admin(backend, f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nimbus.db'}"
        return
    async for url in server_database(request.param):
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.close()
