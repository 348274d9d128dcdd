"""Resource providers: their trees, their generations, and finding them.

Every write that changes what a provider offers or holds bumps its generation with a
compare-and-swap (``UPDATE ... WHERE generation = :seen``) in the writer's own
transaction; a writer that saw an older generation updates no row and fails. That one
rule is what keeps concurrent writers from overwriting each other or oversubscribing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from nimbus.db.base import utcnow
from nimbus.db.models.placement import (
    Allocation,
    Inventory,
    ProviderAggregate,
    ProviderTrait,
    ResourceProvider,
)
from nimbus.errors import BadRequest, Conflict, NotFound
from nimbus.placement import filters
from nimbus.placement.errors import (
    DUPLICATE_NAME,
    PROVIDER_CANNOT_DELETE_PARENT,
    PROVIDER_IN_USE,
    ConcurrentUpdate,
    GenerationRace,
)

_PARENT = aliased(ResourceProvider, name="parent")
_ROOT = aliased(ResourceProvider, name="root")


@dataclass
class Provider:
    """A provider as the API shows it, with its parent's and root's UUIDs."""

    id: int
    uuid: str
    name: str
    generation: int
    parent_id: int | None
    root_id: int
    parent_uuid: str | None
    root_uuid: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Filters:
    """What GET /resource_providers may filter on; class and trait names as ids."""

    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    member_of: list[set[str]] = field(default_factory=list)
    forbidden_aggregates: set[str] = field(default_factory=set)
    required_traits: list[set[int]] = field(default_factory=list)
    forbidden_traits: set[int] = field(default_factory=set)
    resources: dict[int, int] = field(default_factory=dict)


def _select() -> Select:
    rp = ResourceProvider
    return (
        select(
            rp.id,
            rp.uuid,
            rp.name,
            rp.generation,
            rp.parent_provider_id,
            rp.root_provider_id,
            _PARENT.uuid,
            _ROOT.uuid,
            rp.created_at,
            rp.updated_at,
        )
        .outerjoin(_PARENT, _PARENT.id == rp.parent_provider_id)
        .outerjoin(_ROOT, _ROOT.id == rp.root_provider_id)
    )


async def _fetch(session: AsyncSession, query: Select) -> list[Provider]:
    return [Provider(*row) for row in (await session.execute(query)).all()]


async def get(session: AsyncSession, uuid: str) -> Provider:
    found = await _fetch(session, _select().where(ResourceProvider.uuid == uuid))
    if not found:
        raise NotFound(f"No resource provider with uuid {uuid} found")
    return found[0]


async def by_uuid(session: AsyncSession, uuids: Iterable[str]) -> dict[str, Provider]:
    """The providers that exist among `uuids`, by UUID."""
    wanted = set(uuids)
    if not wanted:
        return {}
    rows = await _fetch(session, _select().where(ResourceProvider.uuid.in_(wanted)))
    return {p.uuid: p for p in rows}


async def listing(session: AsyncSession, wanted: Filters) -> list[Provider]:
    """Providers matching every filter, oldest first."""
    rp = ResourceProvider
    query = _select().order_by(rp.id)
    if wanted.name is not None:
        query = query.where(rp.name == wanted.name)
    if wanted.uuid is not None:
        query = query.where(rp.uuid == wanted.uuid)
    if wanted.in_tree is not None:
        tree = aliased(ResourceProvider, name="tree")
        root = select(tree.root_provider_id).where(tree.uuid == wanted.in_tree)
        query = query.where(rp.root_provider_id == root.scalar_subquery())
    if wanted.resources:
        query = query.where(rp.id.in_(filters.providers_fitting_all(wanted.resources)))
    conditions = [
        *filters.in_aggregates(rp.id, wanted.member_of),
        *filters.outside_aggregates(rp.id, wanted.forbidden_aggregates),
        *filters.with_traits(rp.id, wanted.required_traits),
        *filters.without_traits(rp.id, wanted.forbidden_traits),
    ]
    return await _fetch(session, query.where(*conditions))


def expect_generation(provider: Provider, generation: int) -> None:
    """A client-supplied generation must be the current one (409 otherwise)."""
    if provider.generation != generation:
        raise ConcurrentUpdate("resource provider generation conflict")


async def bump_generation(session: AsyncSession, provider_id: int, seen: int) -> int:
    """Compare-and-swap `seen` → `seen + 1`; GenerationRace if another writer got there first."""
    result = await session.execute(
        update(ResourceProvider)
        .where(ResourceProvider.id == provider_id, ResourceProvider.generation == seen)
        .values(generation=seen + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise GenerationRace()
    return seen + 1


async def _ensure_unique(session: AsyncSession, name: str, uuid: str | None) -> None:
    taken = []
    if uuid and await session.scalar(select(exists().where(ResourceProvider.uuid == uuid))):
        taken.append(f"uuid: {uuid}")
    if await session.scalar(select(exists().where(ResourceProvider.name == name))):
        taken.append(f"name: {name}")
    if taken:
        raise Conflict(
            f"Conflicting resource provider {', '.join(taken)} already exists.",
            error_code=DUPLICATE_NAME,
        )


async def create(
    session: AsyncSession, *, name: str, uuid: str, parent_uuid: str | None
) -> Provider:
    """A new provider, a root unless `parent_uuid` names an existing one."""

    def refuse(reason: str) -> BadRequest:
        return BadRequest(
            f'Unable to create resource provider "{name}", {uuid}: '
            f"Object action create failed because: {reason}"
        )

    await _ensure_unique(session, name, uuid)
    parent = None
    if parent_uuid is not None:
        if parent_uuid == uuid:
            raise refuse(
                "parent provider UUID cannot be same as UUID. "
                "Please set parent provider UUID to None if there is no parent."
            )
        parent = (await by_uuid(session, [parent_uuid])).get(parent_uuid)
        if parent is None:
            raise refuse("parent provider UUID does not exist.")
    now = utcnow()
    values = {"uuid": uuid, "name": name, "generation": 0, "created_at": now, "updated_at": now}
    if parent is not None:
        values.update(parent_provider_id=parent.id, root_provider_id=parent.root_id)
    try:
        new_id = (
            await session.execute(insert(ResourceProvider).values(**values))
        ).inserted_primary_key[0]
    except IntegrityError:
        raise Conflict(
            f"Conflicting resource provider name: {name} already exists.",
            error_code=DUPLICATE_NAME,
        ) from None
    if parent is None:
        await session.execute(
            update(ResourceProvider)
            .where(ResourceProvider.id == new_id)
            .values(root_provider_id=new_id)
        )
    return await get(session, uuid)


async def _subtree(session: AsyncSession, provider: Provider) -> set[int]:
    """Ids of `provider` and all its descendants (one query over its tree)."""
    rows = await session.execute(
        select(ResourceProvider.id, ResourceProvider.parent_provider_id).where(
            ResourceProvider.root_provider_id == provider.root_id
        )
    )
    children: dict[int | None, list[int]] = {}
    for ident, parent in rows.all():
        children.setdefault(parent, []).append(ident)
    found, frontier = {provider.id}, [provider.id]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.add(child)
            frontier.append(child)
    return found


async def _reparent(
    session: AsyncSession, provider: Provider, parent_uuid: str | None, allow: bool
) -> None:
    """Move `provider` (and its subtree) under `parent_uuid`, or make it a root."""

    def refuse(action: str, reason: str) -> BadRequest:
        return BadRequest(
            f"Unable to save resource provider {provider.uuid}: "
            f"Object action {action} failed because: {reason}"
        )

    if parent_uuid == provider.parent_uuid:
        return
    subtree = await _subtree(session, provider)
    if parent_uuid is None:
        if not allow:
            raise refuse("update", "un-parenting a provider is not currently allowed.")
        new_parent_id, new_root_id = None, provider.id
    else:
        parent = (await by_uuid(session, [parent_uuid])).get(parent_uuid)
        if parent is None:
            raise refuse("create", "parent provider UUID does not exist.")
        if provider.parent_id is not None and not allow:
            raise refuse("update", "re-parenting a provider is not currently allowed.")
        if parent.id in subtree:
            raise refuse("update", "creating loop in the provider tree is not allowed.")
        new_parent_id, new_root_id = parent.id, parent.root_id
    await session.execute(
        update(ResourceProvider)
        .where(ResourceProvider.id.in_(subtree))
        .values(root_provider_id=new_root_id)
    )
    await session.execute(
        update(ResourceProvider)
        .where(ResourceProvider.id == provider.id)
        .values(parent_provider_id=new_parent_id)
    )


#: Tells `update` that the request did not mention the parent at all.
KEEP = object()


async def update_provider(
    session: AsyncSession,
    provider: Provider,
    *,
    name: str,
    parent_uuid: object = KEEP,
    allow_reparenting: bool = False,
) -> Provider:
    """Rename, and (from 1.14) set the parent; re-parenting needs 1.37."""
    if name != provider.name:
        taken = select(exists().where(ResourceProvider.name == name))
        if await session.scalar(taken):
            raise Conflict(
                f"Conflicting resource provider {name} already exists.",
                error_code=DUPLICATE_NAME,
            )
        await session.execute(
            update(ResourceProvider)
            .where(ResourceProvider.id == provider.id)
            .values(name=name, updated_at=utcnow())
        )
    if parent_uuid is not KEEP:
        assert parent_uuid is None or isinstance(parent_uuid, str)
        await _reparent(session, provider, parent_uuid, allow_reparenting)
    return await get(session, provider.uuid)


async def delete_provider(session: AsyncSession, provider: Provider) -> None:
    """Remove a provider with no children and no allocations, and all it offered.

    The generation is bumped first, so that a claim racing with the delete either
    commits before (and the delete sees its allocations) or loses its swap.
    """
    rp_id = provider.id
    await bump_generation(session, rp_id, provider.generation)
    if await session.scalar(select(exists().where(ResourceProvider.parent_provider_id == rp_id))):
        raise Conflict(
            f"Unable to delete parent resource provider {provider.uuid}: "
            "It has child resource providers.",
            error_code=PROVIDER_CANNOT_DELETE_PARENT,
        )
    if await session.scalar(select(exists().where(Allocation.resource_provider_id == rp_id))):
        raise Conflict(
            f"Unable to delete resource provider {provider.uuid}: "
            "Resource provider has allocations.",
            error_code=PROVIDER_IN_USE,
        )
    for model in (Inventory, ProviderTrait, ProviderAggregate):
        await session.execute(delete(model).where(model.resource_provider_id == rp_id))
    await session.execute(
        update(ResourceProvider).where(ResourceProvider.id == rp_id).values(root_provider_id=None)
    )
    await session.execute(delete(ResourceProvider).where(ResourceProvider.id == rp_id))
