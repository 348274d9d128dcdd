"""Placement tables: providers, what they hold, and who consumes it.

Integer surrogate keys keep the hot tables (inventory, allocation) narrow and their
indexes small, which is what the set-based candidate queries scan; the public UUIDs
and names live once, on the provider, class and trait rows.

Every table is prefixed ``placement_`` because names such as ``trait`` or ``consumer``
are generic enough that another service could want them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from nimbus.db.base import ApiBase, utcnow

#: Upstream's bound on integer amounts (a signed 32-bit column).
MAX_INT = 2147483647
#: Foreign-key targets; constraint names are given explicitly because the generated
#: ones would pass MySQL's 64-character limit.
_PROVIDER = "placement_resource_provider.id"
_CLASS = "placement_resource_class.id"


class ResourceClass(ApiBase):
    """A kind of resource (VCPU, MEMORY_MB, CUSTOM_*); standard ones are seeded."""

    __tablename__ = "placement_resource_class"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Trait(ApiBase):
    """A qualitative property (HW_CPU_X86_AVX2, CUSTOM_*); standard ones are seeded."""

    __tablename__ = "placement_trait"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class ResourceProvider(ApiBase):
    """A source of resources; `generation` is its optimistic-concurrency counter.

    `root_provider_id` is denormalised (the top of the provider's tree) so that tree
    membership is one indexed equality instead of a recursive query.
    """

    __tablename__ = "placement_resource_provider"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey(_PROVIDER, name="fk_placement_rp_parent"), index=True
    )
    root_provider_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Inventory(ApiBase):
    """How much of one class a provider has, and the rules for allocating it."""

    __tablename__ = "placement_inventory"
    # Only the (provider, class) key is indexed: searches reach inventory through
    # providers, and a class-first index tempts SQLite into scanning a whole class.
    __table_args__ = (UniqueConstraint("resource_provider_id", "resource_class_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_PROVIDER, name="fk_placement_inventory_rp", ondelete="CASCADE")
    )
    resource_class_id: Mapped[int] = mapped_column(
        ForeignKey(_CLASS, name="fk_placement_inventory_rc")
    )
    total: Mapped[int] = mapped_column(BigInteger)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    min_unit: Mapped[int] = mapped_column(BigInteger, default=1)
    max_unit: Mapped[int] = mapped_column(BigInteger, default=MAX_INT)
    step_size: Mapped[int] = mapped_column(BigInteger, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class ProviderTrait(ApiBase):
    __tablename__ = "placement_provider_trait"

    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_PROVIDER, name="fk_placement_provider_trait_rp", ondelete="CASCADE"),
        primary_key=True,
    )
    trait_id: Mapped[int] = mapped_column(
        ForeignKey("placement_trait.id", name="fk_placement_provider_trait_trait"),
        primary_key=True,
        index=True,
    )


class ProviderAggregate(ApiBase):
    """Membership of a provider in an aggregate; aggregates exist only as UUIDs."""

    __tablename__ = "placement_provider_aggregate"

    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_PROVIDER, name="fk_placement_provider_aggregate_rp", ondelete="CASCADE"),
        primary_key=True,
    )
    aggregate_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class Consumer(ApiBase):
    """Whoever holds allocations (an instance, a migration); exists while it does.

    Project and user are the external (Keystone) ids, stored as given, as placement
    never resolves them.
    """

    __tablename__ = "placement_consumer"
    __table_args__ = (Index("ix_placement_consumer_project_user", "project_id", "user_id"),)

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    consumer_type: Mapped[str | None] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(Integer, default=0)


class Allocation(ApiBase):
    """An amount of one class of one provider held by one consumer."""

    __tablename__ = "placement_allocation"
    __table_args__ = (
        Index(
            "ix_placement_allocation_provider_class", "resource_provider_id", "resource_class_id"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_PROVIDER, name="fk_placement_allocation_rp")
    )
    resource_class_id: Mapped[int] = mapped_column(
        ForeignKey(_CLASS, name="fk_placement_allocation_rc")
    )
    consumer_id: Mapped[str] = mapped_column(
        ForeignKey("placement_consumer.uuid", name="fk_placement_allocation_consumer"),
        index=True,
    )
    used: Mapped[int] = mapped_column(BigInteger)
