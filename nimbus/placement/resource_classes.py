"""Resource classes: the standard ones are fixed, custom ones come and go."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database
from nimbus.db.models.placement import Allocation, Inventory, ResourceClass
from nimbus.errors import BadRequest, Conflict
from nimbus.placement.errors import UnknownNames
from nimbus.placement.names import RESOURCE_CLASSES
from nimbus.placement.standard import is_custom


async def list_names(session: AsyncSession) -> list[str]:
    """Every class, in the order they were defined (standard ones first), as upstream."""
    query = select(ResourceClass.name).order_by(ResourceClass.id)
    return list((await session.scalars(query)).all())


async def ids_for_query(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    """The classes a ``resources`` query parameter names, as ids; a 400 for unknown ones."""
    try:
        return await RESOURCE_CLASSES.ids(session, names)
    except UnknownNames as error:
        raise BadRequest(
            f"Invalid resource class in resources parameter: {error.message}"
        ) from None


async def create(db: Database, name: str) -> None:
    """POST: a new custom class; 409 if the name is taken."""
    if not await RESOURCE_CLASSES.ensure(db, name):
        raise Conflict(f"Conflicting resource class already exists: {name}")


async def ensure(db: Database, name: str) -> bool:
    """PUT from 1.7: create unless present; True when created."""
    return await RESOURCE_CLASSES.ensure(db, name)


async def _in_use(session: AsyncSession, class_id: int) -> bool:
    inventory = exists().where(Inventory.resource_class_id == class_id)
    allocation = exists().where(Allocation.resource_class_id == class_id)
    return bool(await session.scalar(select(inventory | allocation)))


async def rename(db: Database, name: str, new_name: str) -> None:
    """PUT up to 1.6: give a custom class another (custom) name."""
    try:
        async with db.transaction() as session:
            row = await RESOURCE_CLASSES.get(session, name)
            if not is_custom(name):
                raise BadRequest(f"Cannot update standard resource class {name}")
            row.name = new_name
            await session.flush()
    except IntegrityError:
        raise Conflict(f"Resource class already exists: {new_name}") from None


async def delete_class(session: AsyncSession, name: str) -> None:
    """Remove a custom class nobody has inventory or allocations of."""
    row = await RESOURCE_CLASSES.get(session, name)
    if not is_custom(name):
        raise BadRequest(
            f"Error in delete resource class: Cannot delete standard resource class {name}."
        )
    if await _in_use(session, row.id):
        raise Conflict(
            f"Error in delete resource class: Cannot delete resource class {name}. "
            "Class is in use in inventory."
        )
    await RESOURCE_CLASSES.remove(session, row.id)
