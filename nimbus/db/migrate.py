"""Schema migrations (Alembic), applied on every start and by `nimbus db upgrade`.

The check that the schema is current is one query against the version table, so a
start on an up-to-date database does not pay for loading every migration script.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from nimbus.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_api"
#: The newest revision in migrations/versions; a test keeps it equal to Alembic's head.
HEAD = "0007"


def _config(connection: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _upgrade(connection: Connection) -> bool:
    if _current(connection) == HEAD:
        return False
    from alembic import command

    command.upgrade(_config(connection), "head")
    return True


async def upgrade(db: Database) -> bool:
    """Bring the schema to the newest revision; True when anything was applied."""
    async with db.engine.begin() as connection:
        return await connection.run_sync(_upgrade)


async def is_current(db: Database) -> bool:
    """True when the schema is at HEAD (a process that may not migrate checks this)."""
    async with db.engine.connect() as connection:
        return await connection.run_sync(_current) == HEAD


def script_head() -> str:
    """The head revision according to the migration scripts themselves."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""
