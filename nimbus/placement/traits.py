"""Traits: the vocabulary, and the set of them each provider has."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.placement import ProviderTrait, Trait
from nimbus.errors import BadRequest, Conflict
from nimbus.placement import providers
from nimbus.placement.names import TRAITS
from nimbus.placement.standard import is_custom


async def list_names(
    session: AsyncSession,
    *,
    within: Iterable[str] | None = None,
    prefix: str = "",
    associated: bool | None = None,
) -> list[str]:
    """Trait names filtered as GET /traits allows (name=in:/startswith:, associated)."""
    names = await TRAITS.listing(session, within=within, prefix=prefix)
    if associated is None:
        return names
    used = set(
        (
            await session.scalars(
                select(Trait.name).join(ProviderTrait, ProviderTrait.trait_id == Trait.id)
            )
        ).all()
    )
    return [name for name in names if (name in used) == associated]


async def resolve(
    session: AsyncSession, required: list[set[str]], forbidden: set[str]
) -> tuple[list[set[int]], set[int]]:
    """A query's trait names (any-of sets, forbidden ones) as ids; UnknownNames if any
    is not a trait."""
    ids = await TRAITS.ids(session, set().union(*required, forbidden))
    return [{ids[n] for n in any_of} for any_of in required], {ids[n] for n in forbidden}


async def delete_trait(session: AsyncSession, name: str) -> None:
    """Remove a custom trait that no provider has."""
    row = await TRAITS.get(session, name)
    if not is_custom(name):
        raise BadRequest(f"Cannot delete standard trait {name}.")
    if await session.scalar(select(exists().where(ProviderTrait.trait_id == row.id))):
        raise Conflict(f"The trait {name} is in use by a resource provider.")
    await TRAITS.remove(session, row.id)


async def of_providers(session: AsyncSession, provider_ids: Iterable[int]) -> dict[int, list[str]]:
    """provider id → its trait names (sorted); providers without traits are absent."""
    ids = list(provider_ids)
    result: dict[int, list[str]] = {}
    if not ids:
        return result
    rows = await session.execute(
        select(ProviderTrait.resource_provider_id, Trait.name)
        .join(Trait, Trait.id == ProviderTrait.trait_id)
        .where(ProviderTrait.resource_provider_id.in_(ids))
        .order_by(Trait.name)
    )
    for provider_id, name in rows.all():
        result.setdefault(provider_id, []).append(name)
    return result


async def set_for_provider(
    session: AsyncSession, provider: providers.Provider, names: list[str], generation: int
) -> int:
    """Replace a provider's traits if `generation` is current; the new generation."""
    providers.expect_generation(provider, generation)
    trait_ids = await TRAITS.ids(session, names)
    await _replace(session, provider.id, set(trait_ids.values()))
    return await providers.bump_generation(session, provider.id, generation)


async def clear_for_provider(session: AsyncSession, provider: providers.Provider) -> int:
    """DELETE: no traits at all (no generation is given; the current one is bumped)."""
    await _replace(session, provider.id, set())
    return await providers.bump_generation(session, provider.id, provider.generation)


async def _replace(session: AsyncSession, provider_id: int, trait_ids: set[int]) -> None:
    await session.execute(
        delete(ProviderTrait).where(ProviderTrait.resource_provider_id == provider_id)
    )
    if trait_ids:
        await session.execute(
            insert(ProviderTrait),
            [{"resource_provider_id": provider_id, "trait_id": t} for t in sorted(trait_ids)],
        )
