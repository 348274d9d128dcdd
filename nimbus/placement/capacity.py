"""Capacity arithmetic shared by claims, candidates and usage reports, in SQL.

capacity = (total - reserved) * allocation_ratio; an amount fits an inventory when
used + amount <= capacity and it respects min_unit, max_unit and step_size. Writing
this once, as SQL expressions, lets candidate searches test every provider in one
set-based query and lets claims re-check it inside their own transaction.

Usage is a correlated subquery on the inventory row at hand, answered from the
(provider, class) index of allocations: a query that stops early (candidates with a
limit) then only pays for the rows it looks at, instead of summing every allocation.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, and_, cast, func, literal, select
from sqlalchemy.orm.util import AliasedClass

from nimbus.db.models.placement import Allocation, Inventory

InventoryRows = type[Inventory] | AliasedClass[Inventory]


def used(inventory: InventoryRows = Inventory) -> ColumnElement[int]:
    """What is allocated of the enclosing query's `inventory` row (0 when nothing)."""
    total = (
        select(func.sum(Allocation.used))
        .where(
            Allocation.resource_provider_id == inventory.resource_provider_id,
            Allocation.resource_class_id == inventory.resource_class_id,
        )
        .correlate(inventory)
        .scalar_subquery()
    )
    # SUM is NUMERIC on PostgreSQL and DECIMAL on MariaDB: integers on every backend.
    return cast(func.coalesce(total, 0), BigInteger)


def free(inventory: InventoryRows = Inventory) -> ColumnElement[float]:
    """Capacity left: (total - reserved) * allocation_ratio - used."""
    return (inventory.total - inventory.reserved) * inventory.allocation_ratio - used(inventory)


def fits(
    amount: int | ColumnElement[int], inventory: InventoryRows = Inventory
) -> ColumnElement[bool]:
    """True for inventory rows where `amount` more can be allocated right now (an
    integer, or a bound parameter for statements built once and run many times)."""
    wanted = amount if isinstance(amount, ColumnElement) else literal(amount)
    return and_(
        inventory.min_unit <= wanted,
        inventory.max_unit >= wanted,
        wanted % inventory.step_size == 0,
        free(inventory) >= wanted,
    )


def rules() -> tuple[ColumnElement, ...]:
    """An inventory row's numbers for checks done in Python, in this order: total,
    reserved, allocation_ratio, min_unit, max_unit, step_size, used."""
    return (
        Inventory.total,
        Inventory.reserved,
        Inventory.allocation_ratio,
        Inventory.min_unit,
        Inventory.max_unit,
        Inventory.step_size,
        used(),
    )


def in_units(amount: int, min_unit: int, max_unit: int, step_size: int) -> bool:
    """Whether one allocation of `amount` respects an inventory's unit rules."""
    return min_unit <= amount <= max_unit and amount % step_size == 0


def capacity_of(total: int, reserved: int, ratio: float) -> int:
    """The capacity shown in provider summaries (upstream truncates to an integer)."""
    return int((total - reserved) * ratio)
