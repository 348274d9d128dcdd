"""Provider filters as SQL, shared by provider listings and candidate searches.

Each function returns conditions on a provider-id column, so one query can combine
"has these traits", "in these aggregates" and "can hold these amounts" for every
provider at once instead of testing providers one by one.

Trait and aggregate requirements come as a list of any-of sets: each set must be
matched by at least one of its members (``required=in:A,B`` is one set ``{A, B}``,
``required=A,B`` two sets ``{A}`` and ``{B}``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, exists, func, or_, select

from nimbus.db.models.placement import Inventory, ProviderAggregate, ProviderTrait
from nimbus.placement import capacity

#: A provider-id column, or several (a provider and its root) any of which may match.
Providers = ColumnElement[int] | tuple[ColumnElement[int], ...]
#: Values, or an expanding bound parameter standing for them (statements built once).
Values = Collection[Any] | BindParameter[Any]


def _given(values: Values) -> bool:
    return isinstance(values, BindParameter) or bool(values)


def _holds_any(
    provider_id: Providers, column: ColumnElement[Any], values: Values
) -> ColumnElement[bool]:
    """The provider has a trait (or aggregate) row with one of `values`."""
    table = ProviderTrait if column is ProviderTrait.trait_id else ProviderAggregate
    owner = table.resource_provider_id
    match = owner.in_(provider_id) if isinstance(provider_id, tuple) else owner == provider_id
    return exists().where(match, column.in_(values))


def with_traits(
    provider_id: ColumnElement[int], required: Iterable[Values]
) -> list[ColumnElement[bool]]:
    """One condition per any-of set: the provider has at least one of its traits."""
    return [_holds_any(provider_id, ProviderTrait.trait_id, any_of) for any_of in required]


def without_traits(provider_id: ColumnElement[int], forbidden: Values) -> list[ColumnElement[bool]]:
    """The provider has none of `forbidden` (no condition when there are none)."""
    return (
        [~_holds_any(provider_id, ProviderTrait.trait_id, forbidden)] if _given(forbidden) else []
    )


def in_aggregates(provider_id: Providers, member_of: Iterable[Values]) -> list[ColumnElement[bool]]:
    """One condition per any-of set: the provider is in at least one of its aggregates."""
    column = ProviderAggregate.aggregate_uuid
    return [_holds_any(provider_id, column, any_of) for any_of in member_of]


def outside_aggregates(provider_id: Providers, forbidden: Values) -> list[ColumnElement[bool]]:
    """The provider is in none of `forbidden`."""
    column = ProviderAggregate.aggregate_uuid
    return [~_holds_any(provider_id, column, forbidden)] if _given(forbidden) else []


def fitting_inventories(resources: Mapping[int, int]) -> Select:
    """(provider id, class id) of every inventory that can take its requested amount.

    `resources` maps class id → amount; one query covers every class.
    """
    return select(Inventory.resource_provider_id, Inventory.resource_class_id).where(
        or_(
            *(
                and_(Inventory.resource_class_id == class_id, capacity.fits(amount))
                for class_id, amount in resources.items()
            )
        )
    )


def providers_fitting_all(resources: Mapping[int, int]) -> Select:
    """Ids of providers that can, each on its own, take every requested amount."""
    rows = fitting_inventories(resources).subquery("fitting")
    return (
        select(rows.c.resource_provider_id)
        .group_by(rows.c.resource_provider_id)
        .having(func.count() == len(resources))
    )
