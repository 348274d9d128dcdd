"""Request bodies of the placement API, one model per microversion where they differ.

These mirror upstream's JSON schemas (placement/schemas/): exact types, unknown fields
refused, names and UUIDs by pattern, amounts within a signed 32-bit range. The model
for a request is chosen by microversion with `common.pick`.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import ConfigDict, Field, RootModel, StringConstraints

from nimbus.api.common.body import Strict
from nimbus.db.models.placement import MAX_INT

#: Upstream's "format: uuid" accepts any UUID spelling that Python's uuid module does.
UUID_SPELLING = r"^(urn:uuid:)?\{?[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\}?$"
#: The looser pattern upstream uses for dictionary keys (allocations by provider).
UUID_KEY = r"^[0-9a-fA-F-]{36}$"

Uuid = Annotated[str, StringConstraints(pattern=UUID_SPELLING)]
UuidKey = Annotated[str, StringConstraints(pattern=UUID_KEY)]
ClassName = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_]+$")]
CustomName = Annotated[str, StringConstraints(pattern=r"^CUSTOM_[A-Z0-9_]+$", max_length=255)]
TraitName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Owner = Annotated[str, StringConstraints(min_length=1, max_length=255)]
ConsumerType = Annotated[
    str, StringConstraints(pattern=r"^[A-Z0-9_]+$", min_length=1, max_length=255)
]
Amount = Annotated[int, Field(ge=1)]
Positive = Annotated[int, Field(ge=1, le=MAX_INT)]
Reserved = Annotated[int, Field(ge=0, le=MAX_INT)]
#: Upstream's SQL_SP_FLOAT_MAX: the largest single-precision float a column holds.
Ratio = Annotated[float, Field(le=3.40282e38)]


# --- resource providers -------------------------------------------------------------


class ProviderCreate(Strict):
    name: Annotated[str, StringConstraints(max_length=200)]
    uuid: Uuid | None = None


class ProviderCreate114(ProviderCreate):
    parent_provider_uuid: Uuid | None = None


class ProviderUpdate(Strict):
    name: Annotated[str, StringConstraints(max_length=200)]


class ProviderUpdate114(ProviderUpdate):
    parent_provider_uuid: Uuid | None = None


# --- inventories --------------------------------------------------------------------


class InventoryFields(Strict):
    total: Positive
    reserved: Reserved = 0
    min_unit: Positive = 1
    max_unit: Positive = MAX_INT
    step_size: Positive = 1
    allocation_ratio: Ratio = 1.0


class InventoryRecord(InventoryFields):
    """One class in a PUT of all inventories (a generation here is accepted, unused)."""

    resource_provider_generation: int | None = None


class InventoryUpdate(InventoryFields):
    resource_provider_generation: int


class InventoryCreate(InventoryRecord):
    resource_class: ClassName


class InventoriesReplace(Strict):
    resource_provider_generation: int
    inventories: dict[ClassName, InventoryRecord]


# --- aggregates and traits ------------------------------------------------------------


class AggregatesUpdate(Strict):
    """1.19 on: the list and the provider generation the client read."""

    aggregates: list[Uuid]
    resource_provider_generation: int


class ProviderTraits(Strict):
    traits: list[TraitName]
    resource_provider_generation: int


class ResourceClassName(Strict):
    name: CustomName


# --- allocations ----------------------------------------------------------------------


class ProviderRef(Strict):
    uuid: Uuid


class ListedAllocation(Strict):
    """Before 1.12 allocations are a list of these."""

    resource_provider: ProviderRef
    resources: Annotated[dict[ClassName, Amount], Field(min_length=1)]


class Allocations10(Strict):
    allocations: Annotated[list[ListedAllocation], Field(min_length=1)]


class Allocations18(Allocations10):
    project_id: Owner
    user_id: Owner


class ProviderAllocation(Strict):
    resources: Annotated[dict[ClassName, Amount], Field(min_length=1)]
    generation: int | None = None


class Allocations112(Strict):
    allocations: Annotated[dict[UuidKey, ProviderAllocation], Field(min_length=1)]
    project_id: Owner
    user_id: Owner


class AllocationsMayBeEmpty(Allocations112):
    """In POST /allocations (and PUT from 1.28) no allocations means "release all"."""

    allocations: dict[UuidKey, ProviderAllocation]


class Allocations128(AllocationsMayBeEmpty):
    consumer_generation: int | None


class Allocations134(Allocations128):
    #: Accepted as convenience (copied from candidates) and ignored, as upstream.
    mappings: (
        Annotated[dict[str, Annotated[list[Uuid], Field(min_length=1)]], Field(min_length=1)] | None
    ) = None


class Allocations138(Allocations134):
    consumer_type: ConsumerType


@cache
def by_consumer(model: type[Strict]) -> type[RootModel]:
    """POST /allocations (1.13): one body of `model` per consumer UUID, at least one."""

    class Consumers(RootModel[Annotated[dict[UuidKey, model], Field(min_length=1)]]):  # type: ignore[valid-type]
        model_config = ConfigDict(strict=True)

    return Consumers
