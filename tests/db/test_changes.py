"""Change counters move with every committed identity write, and only then."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from nimbus.db import changes, migrate
from nimbus.db.engine import Database
from nimbus.db.models.identity import IDENTITY, Project, ProjectTag
from nimbus.identity import projects


async def _counter(db: Database) -> int:
    async with db.reader() as session:
        return await changes.current(session, IDENTITY)


async def test_writes_move_the_counter_reads_and_rollbacks_do_not(db: Database) -> None:
    await migrate.upgrade(db)
    start = await _counter(db)
    async with db.transaction() as session:
        await projects.create_domain(
            session, id="d1", name="D1", description="", enabled=True, extra={}
        )
    after_insert = await _counter(db)
    assert after_insert == start + 1

    async with db.transaction() as session:
        domain = await session.get(Project, "d1")
        assert domain is not None
        domain.description = "renamed"  # flushed only by the commit itself
    after_update = await _counter(db)
    assert after_update == after_insert + 1

    async with db.transaction() as session:
        await session.execute(delete(ProjectTag).where(ProjectTag.project_id == "nothing"))
    assert await _counter(db) == after_update + 1  # a bulk statement counts too

    async with db.reader() as session:
        await session.get(Project, "d1")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            (await session.get(Project, "d1")).description = "never"
            raise RuntimeError("abort")
    assert await _counter(db) == after_update + 1
