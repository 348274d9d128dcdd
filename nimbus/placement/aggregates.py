"""Aggregates: groups of providers, known only by UUID, that queries can filter on."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.placement import ProviderAggregate
from nimbus.placement.providers import Provider, bump_generation, expect_generation


async def of_provider(session: AsyncSession, provider_id: int) -> list[str]:
    rows = await session.scalars(
        select(ProviderAggregate.aggregate_uuid)
        .where(ProviderAggregate.resource_provider_id == provider_id)
        .order_by(ProviderAggregate.aggregate_uuid)
    )
    return list(rows.all())


async def set_for_provider(
    session: AsyncSession, provider: Provider, aggregates: list[str], generation: int | None
) -> int:
    """Replace a provider's aggregates; the provider's generation afterwards.

    From 1.19 the client sends the generation it read, which must be current, and the
    change bumps it; before that (`generation` None) the generation is left alone, as
    upstream did then.
    """
    if generation is not None:
        expect_generation(provider, generation)
    await session.execute(
        delete(ProviderAggregate).where(ProviderAggregate.resource_provider_id == provider.id)
    )
    if aggregates:
        await session.execute(
            insert(ProviderAggregate),
            [{"resource_provider_id": provider.id, "aggregate_uuid": a} for a in aggregates],
        )
    if generation is None:
        return provider.generation
    return await bump_generation(session, provider.id, generation)
