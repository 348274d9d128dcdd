"""Placement's claims on every backend: concurrent transactions, not just coroutines.

On PostgreSQL and MariaDB each claim runs on its own pooled connection, so the
generation compare-and-swap really races row locks (and MariaDB's deadlock detector);
on SQLite the writers queue on the database lock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from sqlalchemy.exc import DBAPIError

from nimbus.db import migrate
from nimbus.db.engine import Database
from nimbus.errors import Conflict, NimbusError
from nimbus.placement import (
    aggregates,
    allocations,
    candidates,
    inventories,
    providers,
    traits,
    usages,
    work,
)
from nimbus.placement.errors import CONCURRENT_UPDATE
from nimbus.placement.transactions import transient


async def _provider(db: Database, name: str, vcpus: int) -> providers.Provider:
    async with db.transaction() as session:
        rp = await providers.create(session, name=name, uuid=str(uuid.uuid4()), parent_uuid=None)
        await inventories.replace_all(session, rp, 0, {"VCPU": inventories.Amounts(total=vcpus)})
        return await providers.get(session, rp.uuid)


async def _outcome(db: Database, claim: allocations.Claim) -> str:
    try:
        await allocations.replace(db, [claim])
    except NimbusError as error:
        return error.error_code or str(error.code)
    return "ok"


async def test_concurrent_claims_never_oversubscribe(db: Database) -> None:
    await migrate.upgrade(db)
    rp = await _provider(db, "cn1", 10)
    claims = [
        allocations.Claim(str(uuid.uuid4()), {rp.uuid: {"VCPU": 1}}, "project", "user")
        for _ in range(40)
    ]
    outcomes = Counter(await asyncio.gather(*(_outcome(db, c) for c in claims)))
    assert outcomes["ok"] == 10
    assert outcomes["ok"] + outcomes["409"] + outcomes[CONCURRENT_UPDATE] == 40
    async with db.reader() as session:
        assert await usages.of_provider(session, rp.id) == {"VCPU": 10}
        assert (await providers.get(session, rp.uuid)).generation == 11
        found = await candidates.find(
            session, candidates.Request([candidates.Group(resources={"VCPU": 1})])
        )
    assert found.candidates == []


async def test_one_consumer_generation_lets_one_writer_through(db: Database) -> None:
    await migrate.upgrade(db)
    rp = await _provider(db, "cn2", 100)
    consumer = str(uuid.uuid4())
    await allocations.replace(db, [allocations.Claim(consumer, {rp.uuid: {"VCPU": 1}})])

    def claim(amount: int) -> allocations.Claim:
        return allocations.Claim(
            consumer, {rp.uuid: {"VCPU": amount}}, generation=1, check_generation=True
        )

    outcomes = Counter(await asyncio.gather(*(_outcome(db, claim(n)) for n in range(2, 8))))
    assert outcomes == {"ok": 1, CONCURRENT_UPDATE: 5}


async def test_stale_inventory_generations_are_refused(db: Database) -> None:
    await migrate.upgrade(db)
    rp = await _provider(db, "cn3", 4)

    async def write(total: int) -> str:
        try:
            async with db.transaction() as session:
                current = await providers.get(session, rp.uuid)
                amounts = {"VCPU": inventories.Amounts(total=total)}
                await inventories.replace_all(session, current, rp.generation, amounts)
        except Conflict as error:
            return error.error_code or "409"
        return "ok"

    outcomes = Counter(await asyncio.gather(*(write(n) for n in range(5, 13))))
    assert outcomes == {"ok": 1, CONCURRENT_UPDATE: 7}


async def test_the_generation_swap_alone_prevents_oversubscription(db: Database) -> None:
    """Without retries or SQLite's in-process writer queue: raw racing transactions."""
    await migrate.upgrade(db)
    rp = await _provider(db, "cn4", 5)

    async def claim() -> str:
        try:
            async with db.transaction() as session:
                mine = allocations.Claim(str(uuid.uuid4()), {rp.uuid: {"VCPU": 1}})
                await allocations._replace(session, [mine])
        except NimbusError as error:
            return error.error_code or str(error.code)
        except DBAPIError as error:
            assert transient(error), error
            return "transient"
        return "ok"

    outcomes = Counter(await asyncio.gather(*(claim() for _ in range(20))))
    async with db.reader() as session:
        used = (await usages.of_provider(session, rp.id))["VCPU"]
    assert used == outcomes["ok"] <= 5
    assert set(outcomes) <= {"ok", "409", CONCURRENT_UPDATE, "transient"}


async def test_searches_see_usage_as_integers(db: Database) -> None:
    """Candidates (with usage) and the claim path on every backend: SUM is NUMERIC on
    PostgreSQL and DECIMAL on MariaDB, which Python cannot mix with floats."""
    await migrate.upgrade(db)
    rp = await _provider(db, "cn5", 8)
    await allocations.replace(
        db, [allocations.Claim(str(uuid.uuid4()), {rp.uuid: {"VCPU": 3}}, "project", "user")]
    )
    request = candidates.Request([candidates.Group(resources={"VCPU": 2})], limit=5)
    found = await candidates.search(db, request)
    (candidate,) = found.candidates
    assert {found.uuids[p]: a for p, a in candidate.allocations.items()} == {
        rp.uuid: {next(iter(found.class_names)): 2}
    }
    (summary,) = found.summaries
    assert summary.resources == {"VCPU": (8, 3)}
    assert all(type(n) is int for n in summary.resources["VCPU"])
    async with db.reader() as session:
        assert (await candidates.find(session, request)).summaries == found.summaries
    # 3 + 2 + 2 = 7 fits; one more 2 does not.
    for outcome in ("ok", "ok", "409"):
        claim = allocations.Claim(str(uuid.uuid4()), {rp.uuid: {"VCPU": 2}}, "project", "user")
        assert await _outcome(db, claim) == outcome
    assert (await candidates.search(db, request)).candidates == []


async def test_claims_from_two_processes_never_oversubscribe(database_url: str) -> None:
    """Two `Database` objects on one file, as two processes would have: neither sees
    the other's in-process writer queue, so only the database keeps them apart."""
    first, second = Database(database_url), Database(database_url)
    try:
        await migrate.upgrade(first)
        rp = await _provider(first, "cn6", 6)
        claims = [
            (
                first if n % 2 else second,
                allocations.Claim(str(uuid.uuid4()), {rp.uuid: {"VCPU": 1}}),
            )
            for n in range(24)
        ]
        outcomes = Counter(await asyncio.gather(*(_outcome(d, c) for d, c in claims)))
        async with first.reader() as session:
            assert await usages.of_provider(session, rp.id) == {"VCPU": 6}
            assert (await providers.get(session, rp.uuid)).generation == 7
    finally:
        await first.close()
        await second.close()
    assert outcomes["ok"] == 6
    assert outcomes["ok"] + outcomes["409"] + outcomes[CONCURRENT_UPDATE] == 24


async def test_claims_without_the_thread_path(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same claims through the async engine (how in-memory SQLite runs them)."""
    if db.backend != "sqlite":
        pytest.skip("only SQLite has a thread path")
    monkeypatch.setattr(work, "THREADED", False)
    await test_concurrent_claims_never_oversubscribe(db)


async def test_nested_searches_on_every_backend(db: Database) -> None:
    """Numbered groups with isolation, traits, aggregates and in_tree: the statement
    shapes PostgreSQL and MariaDB get with their EXISTS fenced."""
    await migrate.upgrade(db)
    aggregate = str(uuid.uuid4())
    async with db.transaction() as session:
        made = {}
        for name, parent in (("host", None), ("numa0", "host"), ("numa1", "host"), ("other", None)):
            rp = await providers.create(
                session,
                name=name,
                uuid=str(uuid.uuid4()),
                parent_uuid=made[parent].uuid if parent else None,
            )
            amounts = {"VCPU": inventories.Amounts(total=4)}
            if parent is None:
                amounts["DISK_GB"] = inventories.Amounts(total=100)
            await inventories.replace_all(session, rp, 0, amounts)
            made[name] = await providers.get(session, rp.uuid)
        await traits.set_for_provider(session, made["numa1"], ["HW_CPU_X86_AVX2"], 1)
        await aggregates.set_for_provider(session, made["host"], [aggregate], 1)

    def group(suffix: str, **kwargs: object) -> candidates.Group:
        return candidates.Group(suffix=suffix, **kwargs)  # type: ignore[arg-type]

    request = candidates.Request(
        [
            group("", resources={"DISK_GB": 10}, member_of=[{aggregate}]),
            group("1", resources={"VCPU": 2}),
            group("2", resources={"VCPU": 2}, required=[{"HW_CPU_X86_AVX2"}]),
        ],
        isolate=True,
    )
    found = await candidates.search(db, request)
    names = {p.uuid: n for n, p in made.items()}
    placed = [
        {s: [names[found.uuids[p]] for p in ps] for s, ps in c.mappings.items()}
        for c in found.candidates
    ]
    # Isolation keeps the numbered groups apart; the unnumbered one may share.
    assert placed == [
        {"": ["host"], "1": ["host"], "2": ["numa1"]},
        {"": ["host"], "1": ["numa0"], "2": ["numa1"]},
    ]
    assert {names[s.uuid] for s in found.summaries} == {"host", "numa0", "numa1"}
    request.groups[2].forbidden = {"HW_CPU_X86_AVX2"}
    request.groups[2].required = []
    request.groups[2].in_tree = made["other"].uuid
    assert (await candidates.search(db, request)).candidates == []
