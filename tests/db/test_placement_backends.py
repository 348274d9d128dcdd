"""Placement's claims on every backend: concurrent transactions, not just coroutines.

On PostgreSQL and MariaDB each claim runs on its own pooled connection, so the
generation compare-and-swap really races row locks (and MariaDB's deadlock detector);
on SQLite the writers queue on the database lock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from sqlalchemy.exc import DBAPIError

from nimbus.db import migrate
from nimbus.db.engine import Database
from nimbus.errors import Conflict, NimbusError
from nimbus.placement import allocations, candidates, inventories, providers, usages
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
