"""Migrations of instances between hosts (Nova's cell table ``migrations``): one row per
resize, cold migration or evacuation, kept after it ends so that ``os-migrations``
can list the history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nimbus.db.base import CellBase, utcnow
from nimbus.db.models.compute import new_uuid


class Migration(CellBase):
    """The uuid is also the Placement consumer that holds the source's claims while the
    move is in progress (as Nova's migration-based allocations)."""

    __tablename__ = "migration"
    __table_args__ = (
        Index("ix_migration_instance_uuid_status", "instance_uuid", "status"),
        Index("ix_migration_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    #: resize, migration (cold), evacuation (live-migration is not built)
    migration_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    source_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    old_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    new_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)
