"""Allocations: claims of consumers on providers, written all-or-nothing.

A write replaces what each named consumer holds. Inside one transaction it reads the
generations of every provider involved, then their usage, checks that every amount
fits (capacity = (total - reserved) * allocation_ratio, and min_unit, max_unit,
step_size), and compare-and-swaps those generations before touching any allocation
row. Two claims on the same provider therefore cannot both commit against the same
usage: the second one's swap matches no row, and since the client never named those
generations the whole write simply runs again on fresh data (`transactions.retrying`).

Consumer generations (1.28) are the client's own optimistic lock on what a consumer
holds: a mismatch is the client's 409, never retried here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database
from nimbus.db.models.placement import (
    Allocation,
    Consumer,
    Inventory,
    ResourceClass,
    ResourceProvider,
)
from nimbus.errors import BadRequest, Conflict, NotFound
from nimbus.placement import capacity, providers
from nimbus.placement.errors import ConcurrentUpdate, GenerationRace, UnknownNames
from nimbus.placement.names import RESOURCE_CLASSES
from nimbus.placement.transactions import retrying

#: Upstream's [placement] incomplete_consumer_project_id / _user_id, used for
#: allocations written before microversion 1.8 made project and user required.
INCOMPLETE_CONSUMER = "00000000-0000-0000-0000-000000000000"
#: How a consumer without a type shows from 1.38.
UNKNOWN_TYPE = "unknown"

Key = tuple[int, int]  # (provider id, class id)


@dataclass
class Claim:
    """What one consumer should hold once the write commits (nothing, if empty)."""

    consumer: str
    #: provider UUID → class name → amount
    allocations: dict[str, dict[str, int]]
    project_id: str = INCOMPLETE_CONSUMER
    user_id: str = INCOMPLETE_CONSUMER
    #: The consumer generation the client read (None: "it does not exist yet").
    generation: int | None = None
    #: Whether to hold the client to `generation` (microversion 1.28 on).
    check_generation: bool = False
    consumer_type: str | None = None


@dataclass
class Held:
    """What a consumer holds, as GET /allocations/{consumer_uuid} shows it."""

    consumer: Consumer | None
    #: provider UUID → {"generation": provider generation, "resources": {class: amount}}
    allocations: dict[str, dict] = field(default_factory=dict)


async def replace(db: Database, claims: list[Claim]) -> None:
    """Write `claims` atomically (PUT one consumer, POST several)."""
    try:
        await retrying(db, lambda session: _replace(session, claims))
    except IntegrityError:
        # Another request created the same consumer between our read and our insert.
        raise ConcurrentUpdate(
            "consumer generation conflict - another request created the consumer"
        ) from None


async def delete_consumer(db: Database, consumer: str) -> None:
    """DELETE /allocations/{consumer}: drop all it holds (404 if nothing)."""

    async def work(session: AsyncSession) -> None:
        held = await session.scalar(select(Allocation.id).where(Allocation.consumer_id == consumer))
        if held is None:
            raise NotFound(f"No allocations for consumer '{consumer}'")
        await _replace(session, [Claim(consumer, {})])

    await retrying(db, work)


def _check_consumer(claim: Claim, row: Consumer | None) -> None:
    if not claim.check_generation:
        return
    if row is None and claim.generation is not None:
        raise ConcurrentUpdate(
            f"consumer generation conflict - expected null but got {claim.generation}"
        )
    if row is not None and row.generation != claim.generation:
        raise ConcurrentUpdate(
            f"consumer generation conflict - expected {row.generation} but got {claim.generation}"
        )


async def _replace(session: AsyncSession, claims: list[Claim]) -> None:
    consumers = {c.consumer for c in claims}
    rows = await session.scalars(select(Consumer).where(Consumer.uuid.in_(consumers)))
    existing = {row.uuid: row for row in rows.all()}
    for claim in claims:
        _check_consumer(claim, existing.get(claim.consumer))

    wanted = await _wanted(session, claims)
    old = await session.execute(
        select(
            Allocation.resource_provider_id, Allocation.resource_class_id, Allocation.used
        ).where(Allocation.consumer_id.in_(consumers))
    )
    released: dict[Key, int] = defaultdict(int)
    for provider_id, class_id, used in old.all():
        released[provider_id, class_id] += used
    touched = sorted({key[0] for key in wanted.totals} | {key[0] for key in released})
    # Generations first, usage second: a claim committed after this read then fails
    # our swap below even if its usage slipped into the next read.
    generations = dict(
        (
            await session.execute(
                select(ResourceProvider.id, ResourceProvider.generation).where(
                    ResourceProvider.id.in_(touched)
                )
            )
        ).all()
    )
    await _check_fits(session, wanted, released)
    for provider_id in touched:
        await providers.bump_generation(session, provider_id, generations[provider_id])

    await session.execute(delete(Allocation).where(Allocation.consumer_id.in_(consumers)))
    await _save_consumers(session, claims, existing)
    if wanted.rows:
        await session.execute(insert(Allocation), wanted.rows)


@dataclass
class _Wanted:
    """The new allocation rows, and what they add up to per (provider, class)."""

    rows: list[dict] = field(default_factory=list)
    totals: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    amounts: dict[Key, list[int]] = field(default_factory=lambda: defaultdict(list))
    names: dict[Key, tuple[str, str]] = field(default_factory=dict)


async def _wanted(session: AsyncSession, claims: list[Claim]) -> _Wanted:
    uuids = {rp for claim in claims for rp in claim.allocations}
    found = await providers.by_uuid(session, uuids)
    if missing := sorted(uuids - set(found)):
        raise BadRequest(f"Allocation for resource provider '{missing[0]}' that does not exist.")
    names = {name for claim in claims for rs in claim.allocations.values() for name in rs}
    try:
        class_ids = await RESOURCE_CLASSES.ids(session, names)
    except UnknownNames as error:
        raise BadRequest(f"Unable to allocate inventory: {error.message}") from None
    wanted = _Wanted()
    for claim in claims:
        for rp_uuid, resources in claim.allocations.items():
            for name, amount in resources.items():
                key = (found[rp_uuid].id, class_ids[name])
                wanted.rows.append(
                    {
                        "resource_provider_id": key[0],
                        "resource_class_id": key[1],
                        "consumer_id": claim.consumer,
                        "used": amount,
                    }
                )
                wanted.totals[key] += amount
                wanted.amounts[key].append(amount)
                wanted.names[key] = (rp_uuid, name)
    return wanted


async def _check_fits(session: AsyncSession, wanted: _Wanted, released: dict[Key, int]) -> None:
    """Every amount respects its inventory's rules, and the totals fit its capacity.

    A write that leaves a provider over capacity is still allowed when it reduces the
    overage (inventory shrank under existing allocations), as upstream allows.
    """
    if not wanted.totals:
        return
    provider_ids = {key[0] for key in wanted.totals}
    class_ids = {key[1] for key in wanted.totals}
    rows = await session.execute(
        select(
            Inventory.resource_provider_id, Inventory.resource_class_id, *capacity.rules()
        ).where(
            Inventory.resource_provider_id.in_(provider_ids),
            Inventory.resource_class_id.in_(class_ids),
        )
    )
    inventories = {(row[0], row[1]): row[2:] for row in rows.all()}
    for key, needed in wanted.totals.items():
        rp_uuid, name = wanted.names[key]
        where = f"'{name}' on resource provider '{rp_uuid}'"
        if key not in inventories:
            raise Conflict(f"Unable to allocate inventory: Inventory for {where} invalid.")
        total, reserved, ratio, min_unit, max_unit, step, used_before = inventories[key]
        for amount in wanted.amounts[key]:
            if not capacity.in_units(amount, min_unit, max_unit, step):
                raise Conflict(
                    f"Unable to allocate inventory: Unable to create allocation for {where}. "
                    "The requested amount would violate inventory constraints."
                )
        after = used_before - released.get(key, 0) + needed
        if after > (total - reserved) * ratio and after > used_before:
            raise Conflict(
                f"Unable to allocate inventory: Unable to create allocation for {where}. "
                "The requested amount would exceed the capacity."
            )


async def _save_consumers(
    session: AsyncSession, claims: list[Claim], existing: dict[str, Consumer]
) -> None:
    """Create, update or drop each claim's consumer, swapping its generation."""
    for claim in claims:
        row = existing.get(claim.consumer)
        if row is None:
            if claim.allocations:
                await session.execute(
                    insert(Consumer).values(
                        uuid=claim.consumer,
                        project_id=claim.project_id,
                        user_id=claim.user_id,
                        consumer_type=claim.consumer_type,
                        generation=1,
                    )
                )
            continue
        current = (Consumer.uuid == row.uuid) & (Consumer.generation == row.generation)
        if claim.allocations:
            kind = claim.consumer_type if claim.consumer_type is not None else row.consumer_type
            statement = (
                update(Consumer)
                .where(current)
                .values(
                    project_id=claim.project_id,
                    user_id=claim.user_id,
                    consumer_type=kind,
                    generation=row.generation + 1,
                )
            )
        else:
            statement = delete(Consumer).where(current)
        swapped = await session.execute(statement.execution_options(synchronize_session=False))
        if swapped.rowcount != 1:
            _lost_consumer_race(claim)


def _lost_consumer_race(claim: Claim) -> None:
    """Someone else changed the consumer since we read it."""
    if claim.check_generation:
        raise ConcurrentUpdate(
            "consumer generation conflict - the consumer's allocations changed "
            "while they were being replaced"
        )
    raise GenerationRace("consumer")


async def _by(
    session: AsyncSession,
    key: ColumnElement[str],
    generation: ColumnElement[int],
    through: tuple[Any, ColumnElement[bool]],
    where: ColumnElement[bool],
    generation_name: str,
) -> dict[str, dict]:
    """Allocation rows grouped by `key`: {key: {generation_name: g, "resources": {...}}}."""
    query = (
        select(key, generation, Allocation.used, ResourceClass.name)
        .select_from(Allocation)
        .join(*through)
        .join(ResourceClass, ResourceClass.id == Allocation.resource_class_id)
        .where(where)
    )
    result: dict[str, dict] = {}
    for ident, number, used, name in (await session.execute(query)).all():
        entry = result.setdefault(ident, {generation_name: number, "resources": {}})
        entry["resources"][name] = used
    return result


async def of_consumer(session: AsyncSession, consumer: str) -> Held:
    """Everything `consumer` holds, by provider (with the provider's generation)."""
    row = await session.get(Consumer, consumer)
    if row is None:
        return Held(None)
    rp = ResourceProvider
    held = await _by(
        session,
        rp.uuid,
        rp.generation,
        (rp, rp.id == Allocation.resource_provider_id),
        Allocation.consumer_id == consumer,
        "generation",
    )
    return Held(row, held)


async def on_provider(session: AsyncSession, provider_id: int) -> dict[str, dict]:
    """consumer UUID → {"resources": {class: amount}, "consumer_generation": g}."""
    return await _by(
        session,
        Allocation.consumer_id,
        Consumer.generation,
        (Consumer, Consumer.uuid == Allocation.consumer_id),
        Allocation.resource_provider_id == provider_id,
        "consumer_generation",
    )
