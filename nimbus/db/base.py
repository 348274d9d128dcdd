"""Declarative bases and the column types every model shares.

API-level tables (identity, images, placement, networks, the compute API's own
records) live on `ApiBase`; per-cell tables (instances and what hangs off them) will
live on a base of their own, so that cells can get databases of their own later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """Keystone-style ids: 32 hex digits."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored naive in UTC and always handed back timezone-aware.

    SQLite and MariaDB drop the zone; this keeps comparisons in Python honest.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        """Microseconds on MariaDB/MySQL too (their DATETIME keeps whole seconds)."""
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class ApiBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class CellBase(DeclarativeBase):
    """Per-cell tables (instances and what hangs off them, compute services and nodes).

    Today every cell table lives in the one database beside the API tables; keeping
    them on their own metadata is what lets a later change give each cell a database.
    """

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


def id_column() -> Mapped[str]:
    return mapped_column(String(64), primary_key=True, default=new_id)
