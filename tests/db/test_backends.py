"""The database layer and identity's domain logic on every supported backend."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from nimbus.db import migrate
from nimbus.db.engine import Database
from nimbus.db.models.identity import Project
from nimbus.errors import Conflict
from nimbus.identity import projects, users
from nimbus.identity.auth import Authenticator, Credentials, ScopeRequest, TokenNotValid, UserRef
from nimbus.identity.bootstrap import Endpoint, bootstrap
from nimbus.identity.tokens import load_codec


def test_head_matches_the_migration_scripts() -> None:
    assert migrate.script_head() == migrate.HEAD


async def _bootstrapped(db: Database) -> None:
    assert await migrate.upgrade(db) is True
    assert await migrate.upgrade(db) is False  # a second start applies nothing
    assert await migrate.is_current(db)
    async with db.transaction() as session:
        await bootstrap(
            session,
            region="RegionOne",
            endpoints=[Endpoint("identity", "keystone", "http://127.0.0.1:5000/v3")],
            admin_password="pw",
        )


async def test_migrate_bootstrap_and_token_cycle(db: Database) -> None:
    await _bootstrapped(db)
    async with db.transaction() as session:
        authenticator = Authenticator(await load_codec(session), 3600)
    creds = Credentials(
        methods=("password",),
        password_user=UserRef(name="admin", domain_id="default"),
        password="pw",
    )
    async with db.transaction() as session:
        issued = await authenticator.issue(
            session, creds, ScopeRequest(project_name="admin", project_domain_id="default")
        )
    assert {r.name for r in issued.roles} == {"admin", "manager", "member", "reader"}
    async with db.reader() as session:
        validated = await authenticator.validate(session, issued.token)
    assert validated.project is not None and validated.project.name == "admin"
    async with db.transaction() as session:
        await authenticator.revoke(session, validated)
    async with db.reader() as session:
        with pytest.raises(TokenNotValid):
            await authenticator.validate(session, issued.token)


async def test_bootstrap_is_idempotent_and_moves_endpoints(db: Database) -> None:
    await _bootstrapped(db)
    async with db.transaction() as session:
        result = await bootstrap(
            session,
            region="RegionOne",
            endpoints=[Endpoint("identity", "keystone", "http://127.0.0.1:5100/v3")],
        )
    assert result.new_admin_password is None
    async with db.reader() as session:
        from nimbus.identity import catalog

        entries = await catalog.build(session)
    (identity,) = entries
    assert {e["url"] for e in identity["endpoints"]} == {"http://127.0.0.1:5100/v3"}
    assert len(identity["endpoints"]) == 3


async def test_duplicate_is_a_conflict_and_writes_nothing(db: Database) -> None:
    await _bootstrapped(db)
    async with db.transaction() as session:
        await projects.create_project(
            session,
            name="dup",
            domain_id="default",
            parent_id=None,
            description="",
            enabled=True,
            extra={},
        )
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await users.create_user(
                session, name="half", domain_id="default", password=None, extra={}
            )
            await projects.create_project(
                session,
                name="dup",
                domain_id="default",
                parent_id=None,
                description="",
                enabled=True,
                extra={},
            )
    async with db.reader() as session:
        assert await users.find_user(session, id=None, name="half", domain_id="default") is None
        names = (await session.scalars(select(Project.name).where(Project.name == "dup"))).all()
    assert names == ["dup"]


async def test_concurrent_writers_do_not_lose_rows(db: Database) -> None:
    await _bootstrapped(db)

    async def create(index: int) -> None:
        async with db.transaction() as session:
            await projects.create_project(
                session,
                name=f"p{index}",
                domain_id="default",
                parent_id=None,
                description="",
                enabled=True,
                extra={"n": index},
            )

    await asyncio.gather(*(create(i) for i in range(20)))
    async with db.reader() as session:
        rows = await projects.list_projects(session)
    assert {p.name for p in rows} >= {f"p{i}" for i in range(20)}
    assert {p.extra.get("n") for p in rows if p.name.startswith("p")} == set(range(20))
