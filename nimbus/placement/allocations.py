"""Allocations: claims of consumers on providers, written all-or-nothing.

A write replaces what each named consumer holds, as one unit of work
(`nimbus.placement.work`) of five statements for a new consumer:

1. the consumers with what they hold now (one SELECT, consumer LEFT JOIN allocation);
2. every provider involved, named or released, with its generation, its inventories
   and their usage (one SELECT, so generations and usage come from one snapshot);
3. in Python: every amount against ``(total - reserved) * allocation_ratio - used``,
   min_unit, max_unit and step_size;
4. ``UPDATE … SET generation = :seen + 1 WHERE id = :id AND generation = :seen`` per
   provider, in id order (so PostgreSQL and MariaDB cannot deadlock on them), each
   checked to have matched its row;
5. the old allocations deleted (if any), the consumer inserted, updated or deleted
   (compare-and-swapping its own generation), and the new rows in one bulk INSERT.

Two claims on the same provider therefore cannot both commit against the same usage:
the second one's swap matches no row, and since the client never named those
generations the whole write simply runs again on fresh data
(`transactions.retrying_work`). On SQLite the write also holds the database's write
lock from its first read (``BEGIN IMMEDIATE``), so the swap does not fail there.

Consumer generations (1.28) are the client's own optimistic lock on what a consumer
holds: a mismatch is the client's 409, never retried here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Row,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.engine import Database
from nimbus.db.models.placement import (
    Allocation,
    Consumer,
    Inventory,
    ResourceClass,
    ResourceProvider,
)
from nimbus.errors import BadRequest, Conflict, NotFound
from nimbus.placement import capacity, work
from nimbus.placement.errors import ConcurrentUpdate, GenerationRace, UnknownNames
from nimbus.placement.names import RESOURCE_CLASSES
from nimbus.placement.transactions import retrying_work

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


# The statements of a write, built once (plain Core on the tables: no ORM work per
# request, and SQLAlchemy's compiled cache hits every time).
_consumer = Consumer.__table__
_allocation = Allocation.__table__
_provider = ResourceProvider.__table__
_inventory = Inventory.__table__
_class = ResourceClass.__table__

#: The consumers and what they hold (no allocation columns for a bare consumer).
_HELD = (
    select(
        _consumer.c.uuid,
        _consumer.c.generation,
        _consumer.c.consumer_type,
        _allocation.c.resource_provider_id,
        _allocation.c.resource_class_id,
        _allocation.c.used,
    )
    .select_from(_consumer.outerjoin(_allocation, _allocation.c.consumer_id == _consumer.c.uuid))
    .where(_consumer.c.uuid.in_(bindparam("consumers", expanding=True)))
)
_USED = cast(
    func.coalesce(
        select(func.sum(_allocation.c.used))
        .where(
            _allocation.c.resource_provider_id == _inventory.c.resource_provider_id,
            _allocation.c.resource_class_id == _inventory.c.resource_class_id,
        )
        .correlate(_inventory)
        .scalar_subquery(),
        0,
    ),
    BigInteger,
)
#: Providers named (by UUID) or released (by id): generation, inventories, usage.
_PROVIDERS = (
    select(
        _provider.c.id,
        _provider.c.uuid,
        _provider.c.generation,
        _class.c.name,
        _inventory.c.resource_class_id,
        _inventory.c.total,
        _inventory.c.reserved,
        _inventory.c.allocation_ratio,
        _inventory.c.min_unit,
        _inventory.c.max_unit,
        _inventory.c.step_size,
        _USED,
    )
    .select_from(
        _provider.outerjoin(
            _inventory, _inventory.c.resource_provider_id == _provider.c.id
        ).outerjoin(_class, _class.c.id == _inventory.c.resource_class_id)
    )
    .where(
        or_(
            _provider.c.uuid.in_(bindparam("uuids", expanding=True)),
            _provider.c.id.in_(bindparam("released", expanding=True)),
        )
    )
)
#: Generations only (a release needs no inventories).
_GENERATIONS = select(_provider.c.id, _provider.c.generation).where(
    _provider.c.id.in_(bindparam("released", expanding=True))
)
_BUMP = (
    update(_provider)
    .where(_provider.c.id == bindparam("b_id"), _provider.c.generation == bindparam("b_seen"))
    .values(
        generation=bindparam("b_new", type_=Integer),
        updated_at=bindparam("b_now", type_=_provider.c.updated_at.type),
    )
)
_CLASSES_NAMED = select(_class.c.name).where(_class.c.name.in_(bindparam("names", expanding=True)))
_DROP_HELD = delete(_allocation).where(
    _allocation.c.consumer_id.in_(bindparam("consumers", expanding=True))
)
_NEW_CONSUMER = insert(_consumer)
_SWAP_CONSUMER = (
    update(_consumer)
    .where(_consumer.c.uuid == bindparam("b_uuid"), _consumer.c.generation == bindparam("b_seen"))
    .values(
        project_id=bindparam("b_project"),
        user_id=bindparam("b_user"),
        consumer_type=bindparam("b_type"),
        generation=bindparam("b_new", type_=Integer),
    )
)
_DROP_CONSUMER = delete(_consumer).where(
    _consumer.c.uuid == bindparam("b_uuid"), _consumer.c.generation == bindparam("b_seen")
)
_NEW_ALLOCATIONS = insert(_allocation)


async def replace(db: Database, claims: list[Claim]) -> None:
    """Write `claims` atomically (PUT one consumer, POST several)."""
    try:
        await retrying_work(db, lambda connection: _write(connection, claims))
    except IntegrityError:
        # Another request created the same consumer between our read and our insert.
        raise ConcurrentUpdate(
            "consumer generation conflict - another request created the consumer"
        ) from None


async def delete_consumer(db: Database, consumer: str) -> None:
    """DELETE /allocations/{consumer}: drop all it holds (404 if nothing)."""

    def release(connection: Connection) -> None:
        held = connection.execute(_HELD, {"consumers": [consumer]}).all()
        if all(row.resource_provider_id is None for row in held):
            raise NotFound(f"No allocations for consumer '{consumer}'")
        _apply(connection, [Claim(consumer, {})], held)

    await retrying_work(db, release)


async def _replace(session: AsyncSession, claims: list[Claim]) -> None:
    """One attempt at `claims` inside the session's transaction (no retry, no queue)."""
    await work.in_session(session, lambda connection: _write(connection, claims))


def _check_consumer(claim: Claim, row: Any) -> None:
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


def _write(connection: Connection, claims: list[Claim]) -> None:
    consumers = list({c.consumer for c in claims})
    _apply(connection, claims, connection.execute(_HELD, {"consumers": consumers}).all())


def _apply(connection: Connection, claims: list[Claim], held: Sequence[Row]) -> None:
    """The write itself, given what the consumers hold now (`_HELD` rows)."""
    existing = {row.uuid: row for row in held}
    for claim in claims:
        _check_consumer(claim, existing.get(claim.consumer))
    released: dict[Key, int] = defaultdict(int)
    for row in held:
        if row.resource_provider_id is not None:
            released[row.resource_provider_id, row.resource_class_id] += row.used
    released_ids = sorted({key[0] for key in released})
    wanted = _Wanted()
    if any(claim.allocations for claim in claims):
        generations = _check_and_collect(connection, claims, released, released_ids, wanted)
    else:  # a release: only the generations to swap
        generations = dict(connection.execute(_GENERATIONS, {"released": released_ids}).all())
    now = utcnow()
    for provider_id in sorted(set(wanted.provider_ids) | set(released_ids)):
        seen = generations.get(provider_id)
        if seen is None:  # deleted since: run again, and say so then
            raise GenerationRace()
        swapped = connection.execute(
            _BUMP, {"b_id": provider_id, "b_seen": seen, "b_new": seen + 1, "b_now": now}
        )
        if swapped.rowcount != 1:
            raise GenerationRace()
    if released:
        connection.execute(_DROP_HELD, {"consumers": [c.consumer for c in claims]})
    _save_consumers(connection, claims, existing)
    if wanted.rows:
        connection.execute(_NEW_ALLOCATIONS, wanted.rows)


@dataclass
class _Wanted:
    """The new allocation rows, and the providers they are on."""

    rows: list[dict] = field(default_factory=list)
    provider_ids: list[int] = field(default_factory=list)


def _check_and_collect(
    connection: Connection,
    claims: list[Claim],
    released: dict[Key, int],
    released_ids: list[int],
    wanted: _Wanted,
) -> dict[int, int]:
    """Check every amount against its inventory; fill `wanted`; the generations of
    every provider involved.

    A write that leaves a provider over capacity is still allowed when it reduces the
    overage (inventory shrank under existing allocations), as upstream allows.
    """
    uuids = list({rp for claim in claims for rp in claim.allocations})
    rows = connection.execute(_PROVIDERS, {"uuids": uuids, "released": released_ids}).all()
    generations: dict[int, int] = {}
    found: dict[str, int] = {}
    #: (provider id, class name) → class id, total, reserved, ratio, min, max, step, used
    inventories: dict[tuple[int, str], Row] = {}
    for row in rows:
        generations[row[0]] = row[2]
        found[row[1]] = row[0]
        if row[3] is not None:
            inventories[row[0], row[3]] = row
    if missing := sorted(set(uuids) - set(found)):
        raise BadRequest(f"Allocation for resource provider '{missing[0]}' that does not exist.")
    totals: dict[tuple[int, str], int] = defaultdict(int)
    amounts: dict[tuple[int, str], list[int]] = defaultdict(list)
    where: dict[tuple[int, str], str] = {}
    placed: list[tuple[tuple[int, str], str, int]] = []  # (key, consumer, amount)
    for claim in claims:
        for rp_uuid, resources in claim.allocations.items():
            for name, amount in resources.items():
                key = (found[rp_uuid], name)
                totals[key] += amount
                amounts[key].append(amount)
                where[key] = f"'{name}' on resource provider '{rp_uuid}'"
                placed.append((key, claim.consumer, amount))
    if any(key not in inventories for key in totals):
        _check_names(connection, {name for _, name in totals})
    for key, needed in totals.items():
        if key not in inventories:
            raise Conflict(f"Unable to allocate inventory: Inventory for {where[key]} invalid.")
        row = inventories[key]
        class_id, total, reserved, ratio, min_unit, max_unit, step = row[4:11]
        used_before = int(row[11])
        for amount in amounts[key]:
            if not capacity.in_units(amount, min_unit, max_unit, step):
                raise Conflict(
                    f"Unable to allocate inventory: Unable to create allocation for "
                    f"{where[key]}. The requested amount would violate inventory constraints."
                )
        after = used_before - released.get((key[0], class_id), 0) + needed
        if after > (total - reserved) * ratio and after > used_before:
            raise Conflict(
                f"Unable to allocate inventory: Unable to create allocation for {where[key]}. "
                "The requested amount would exceed the capacity."
            )
    wanted.rows = [
        {
            "resource_provider_id": key[0],
            "resource_class_id": inventories[key][4],
            "consumer_id": consumer,
            "used": amount,
        }
        for key, consumer, amount in placed
    ]
    wanted.provider_ids = sorted({key[0] for key in totals})
    return generations


def _check_names(connection: Connection, names: set[str]) -> None:
    """A 400 for resource class names that do not exist (before any inventory 409)."""
    known = set(connection.execute(_CLASSES_NAMED, {"names": list(names)}).scalars())
    if unknown := names - known:
        error = UnknownNames(RESOURCE_CLASSES.missing, unknown)
        raise BadRequest(f"Unable to allocate inventory: {error.message}")


def _save_consumers(connection: Connection, claims: list[Claim], existing: dict[str, Row]) -> None:
    """Create, update or drop each claim's consumer, swapping its generation."""
    for claim in claims:
        row = existing.get(claim.consumer)
        if row is None:
            if claim.allocations:
                connection.execute(
                    _NEW_CONSUMER,
                    {
                        "uuid": claim.consumer,
                        "project_id": claim.project_id,
                        "user_id": claim.user_id,
                        "consumer_type": claim.consumer_type,
                        "generation": 1,
                    },
                )
            continue
        current = {"b_uuid": row.uuid, "b_seen": row.generation}
        if claim.allocations:
            kind = claim.consumer_type if claim.consumer_type is not None else row.consumer_type
            swapped = connection.execute(
                _SWAP_CONSUMER,
                {
                    **current,
                    "b_project": claim.project_id,
                    "b_user": claim.user_id,
                    "b_type": kind,
                    "b_new": row.generation + 1,
                },
            )
        else:
            swapped = connection.execute(_DROP_CONSUMER, current)
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
