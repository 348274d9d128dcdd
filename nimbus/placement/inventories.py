"""Inventories: what each provider offers, per resource class, under what rules.

Every change checks the generation the client read (where the API has the client send
one) and bumps it in the same transaction. Removing a class that is allocated is
refused; shrinking below current usage is allowed, as upstream does, because the
operator knows better (a failed disk) and claims then simply stop fitting.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.placement import MAX_INT, Allocation, Inventory, ResourceClass
from nimbus.errors import BadRequest, Conflict, NotFound
from nimbus.placement import capacity
from nimbus.placement.errors import CONCURRENT_UPDATE, INVENTORY_INUSE, UnknownNames
from nimbus.placement.names import RESOURCE_CLASSES
from nimbus.placement.providers import Provider, bump_generation, expect_generation

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Amounts:
    """One inventory record, with upstream's defaults."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0

    @property
    def capacity(self) -> int:
        return capacity.capacity_of(self.total, self.reserved, self.allocation_ratio)


_COLUMNS = (
    Inventory.total,
    Inventory.reserved,
    Inventory.min_unit,
    Inventory.max_unit,
    Inventory.step_size,
    Inventory.allocation_ratio,
)


def _check_capacity(
    provider: Provider, name: str, amounts: Amounts, reserved_may_be_total: bool
) -> None:
    """reserved may not exceed total (nor equal it before microversion 1.26)."""
    if amounts.capacity > 0 or (reserved_may_be_total and amounts.capacity == 0):
        return
    relation = "greater than" if reserved_may_be_total else "greater than or equal to"
    raise BadRequest(
        f"Unable to update inventory for resource provider {provider.uuid}: "
        f"Invalid inventory for '{name}' on resource provider '{provider.uuid}'. "
        f"The reserved value is {relation} total."
    )


async def of_provider(session: AsyncSession, provider_id: int) -> dict[str, Amounts]:
    """class name → its inventory, for one provider."""
    rows = await session.execute(
        select(ResourceClass.name, *_COLUMNS)
        .join(ResourceClass, ResourceClass.id == Inventory.resource_class_id)
        .where(Inventory.resource_provider_id == provider_id)
        .order_by(ResourceClass.name)
    )
    return {name: Amounts(*values) for name, *values in rows.all()}


async def _class_ids(session: AsyncSession, provider: Provider, names: list[str]) -> dict[str, int]:
    try:
        return await RESOURCE_CLASSES.ids(session, names)
    except UnknownNames as error:
        raise BadRequest(
            f"Unknown resource class in inventory for resource provider {provider.uuid}: "
            f"{error.message}"
        ) from None


async def _refuse_if_allocated(
    session: AsyncSession, provider: Provider, class_ids: dict[str, int]
) -> None:
    if not class_ids:
        return
    rows = await session.execute(
        select(Allocation.resource_class_id)
        .where(
            Allocation.resource_provider_id == provider.id,
            Allocation.resource_class_id.in_(class_ids.values()),
        )
        .distinct()
    )
    used = set(rows.scalars().all())
    if used:
        names = ", ".join(sorted(name for name, ident in class_ids.items() if ident in used))
        raise Conflict(
            f"update conflict: Inventory for '{names}' on resource provider "
            f"'{provider.uuid}' in use.",
            error_code=INVENTORY_INUSE,
        )


async def replace_all(
    session: AsyncSession,
    provider: Provider,
    generation: int,
    inventories: dict[str, Amounts],
    *,
    reserved_may_be_total: bool = True,
) -> int:
    """PUT all: make the provider's inventory exactly `inventories`; new generation."""
    expect_generation(provider, generation)
    for name, amounts in inventories.items():
        _check_capacity(provider, name, amounts, reserved_may_be_total)
    wanted = await _class_ids(session, provider, list(inventories))
    current = await session.execute(
        select(ResourceClass.name, Inventory.resource_class_id)
        .join(ResourceClass, ResourceClass.id == Inventory.resource_class_id)
        .where(Inventory.resource_provider_id == provider.id)
    )
    existing = {name: ident for name, ident in current.all()}
    removed = {name: ident for name, ident in existing.items() if name not in wanted}
    await _refuse_if_allocated(session, provider, removed)
    if removed:
        await session.execute(
            delete(Inventory).where(
                Inventory.resource_provider_id == provider.id,
                Inventory.resource_class_id.in_(removed.values()),
            )
        )
    for name, class_id in wanted.items():
        await _write(session, provider, class_id, inventories[name], name in existing)
    return await bump_generation(session, provider.id, generation)


async def _write(
    session: AsyncSession, provider: Provider, class_id: int, amounts: Amounts, exists: bool
) -> None:
    values = asdict(amounts)
    if exists:
        await session.execute(
            update(Inventory)
            .where(
                Inventory.resource_provider_id == provider.id,
                Inventory.resource_class_id == class_id,
            )
            .values(**values)
        )
        return
    await session.execute(
        insert(Inventory).values(
            resource_provider_id=provider.id, resource_class_id=class_id, **values
        )
    )


async def set_one(
    session: AsyncSession,
    provider: Provider,
    generation: int | None,
    name: str,
    amounts: Amounts,
    *,
    create: bool,
    reserved_may_be_total: bool = True,
) -> int:
    """PUT one class (it must exist) or POST it (`create`; it must not); new generation."""
    if generation is not None:
        expect_generation(provider, generation)
    _check_capacity(provider, name, amounts, reserved_may_be_total)
    class_id = (await _class_ids(session, provider, [name]))[name]
    existing = await of_provider(session, provider.id)
    if create and name in existing:
        raise Conflict(
            f"Update conflict: Inventory for '{name}' on resource provider "
            f"'{provider.uuid}' already exists.",
            error_code=CONCURRENT_UPDATE,
        )
    if not create and name not in existing:
        raise BadRequest(
            f"No inventory record with resource class for resource provider "
            f"{provider.uuid}: No inventory of class {name} found."
        )
    await _write(session, provider, class_id, amounts, not create)
    return await bump_generation(session, provider.id, provider.generation)


async def delete_one(session: AsyncSession, provider: Provider, name: str) -> int:
    """DELETE one class: refused while allocated; 404 if the provider has none."""
    existing = await of_provider(session, provider.id)
    if name not in existing:
        raise NotFound(f"No inventory of class {name} found for delete")
    class_id = (await RESOURCE_CLASSES.ids(session, [name]))[name]
    await _refuse_if_allocated(session, provider, {name: class_id})
    await session.execute(
        delete(Inventory).where(
            Inventory.resource_provider_id == provider.id,
            Inventory.resource_class_id == class_id,
        )
    )
    return await bump_generation(session, provider.id, provider.generation)


async def delete_all(session: AsyncSession, provider: Provider) -> int:
    """DELETE all (1.5): refused while anything is allocated."""
    return await replace_all(session, provider, provider.generation, {})
