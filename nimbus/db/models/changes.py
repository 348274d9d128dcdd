"""The change counters behind nimbus.db.changes."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from nimbus.db.base import ApiBase

#: table name -> the family whose counter a write to it moves (see nimbus.db.changes)
FAMILY_OF: dict[str, str] = {}


def watch(family: str, tables: list[str]) -> None:
    """Count writes to `tables` under `family` (its counter row comes from a migration)."""
    for table in tables:
        FAMILY_OF[table] = family


class ChangeCounter(ApiBase):
    __tablename__ = "change_counter"

    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
