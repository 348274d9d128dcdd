"""Usages: what is allocated, per provider or per project (and user, and consumer type)."""

from __future__ import annotations

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.placement import Allocation, Consumer, Inventory, ResourceClass
from nimbus.placement import capacity

#: The consumer types GET /usages may name that are not real types (1.38).
ALL_TYPES = "all"
UNKNOWN_TYPE = "unknown"


async def of_provider(session: AsyncSession, provider_id: int) -> dict[str, int]:
    """class → amount used, for every class the provider has inventory of (0 if unused)."""
    rows = await session.execute(
        select(ResourceClass.name, capacity.used())
        .select_from(Inventory)
        .join(ResourceClass, ResourceClass.id == Inventory.resource_class_id)
        .where(Inventory.resource_provider_id == provider_id)
    )
    return {name: int(amount) for name, amount in rows.all()}


def _of_owner(project_id: str, user_id: str | None, *columns) -> Select:
    query = (
        select(*columns)
        .select_from(Allocation)
        .join(Consumer, Consumer.uuid == Allocation.consumer_id)
        .join(ResourceClass, ResourceClass.id == Allocation.resource_class_id)
        .where(Consumer.project_id == project_id)
    )
    if user_id is not None:
        query = query.where(Consumer.user_id == user_id)
    return query


async def of_project(session: AsyncSession, project_id: str, user_id: str | None) -> dict[str, int]:
    """class → amount used by a project's (or one of its users') consumers."""
    query = _of_owner(project_id, user_id, ResourceClass.name, func.sum(Allocation.used))
    rows = await session.execute(query.group_by(ResourceClass.name))
    return {name: int(amount) for name, amount in rows.all()}


async def of_project_by_type(
    session: AsyncSession, project_id: str, user_id: str | None, consumer_type: str | None
) -> dict[str, dict[str, int]]:
    """1.38: type → {class: amount, "consumer_count": n}.

    ``all`` folds every type into one entry, ``unknown`` selects consumers written
    without a type; any other name selects that type; none groups by type. A consumer
    has one type, so per-type consumer counts add up to the distinct total.
    """
    # The constant is inlined: PostgreSQL would not match a bound parameter in the
    # GROUP BY with the one in the select list.
    unknown = literal_column(f"'{UNKNOWN_TYPE}'")
    kind = func.coalesce(Consumer.consumer_type, unknown).label("kind")
    query = _of_owner(project_id, user_id, kind)
    if consumer_type == UNKNOWN_TYPE:
        query = query.where(Consumer.consumer_type.is_(None))
    elif consumer_type not in (None, ALL_TYPES):
        query = query.where(Consumer.consumer_type == consumer_type)
    by_class = query.add_columns(ResourceClass.name, func.sum(Allocation.used))
    counts = query.add_columns(func.count(func.distinct(Allocation.consumer_id)))
    result: dict[str, dict[str, int]] = {}

    def entry(kind_name: str) -> dict[str, int]:
        return result.setdefault(ALL_TYPES if consumer_type == ALL_TYPES else kind_name, {})

    for kind_name, name, amount in (
        await session.execute(by_class.group_by(kind, ResourceClass.name))
    ).all():
        usage = entry(kind_name)
        usage[name] = usage.get(name, 0) + int(amount)
    for kind_name, count in (await session.execute(counts.group_by(kind))).all():
        usage = entry(kind_name)
        usage["consumer_count"] = usage.get("consumer_count", 0) + int(count)
    return result
