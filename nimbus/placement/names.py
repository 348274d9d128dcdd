"""Named vocabularies (resource classes, traits): lookups and custom-name upkeep.

Both are tables of unique upper-case names, standard ones seeded by the migration and
custom ones (``CUSTOM_*``) managed by clients; everything that refers to them stores
the integer id, so requests translate names to ids here, in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database
from nimbus.db.models.placement import ResourceClass, Trait
from nimbus.errors import NotFound
from nimbus.placement.errors import UnknownNames

Model = type[ResourceClass] | type[Trait]


@dataclass(frozen=True)
class Vocabulary:
    """One named table, and how upstream words its "no such name" errors."""

    model: Model
    #: As in "No such {missing} X." - upstream says "resource class" and "trait(s):".
    missing: str

    async def ids(self, session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
        """name → id for every name; UnknownNames (a 400) lists those that do not exist."""
        wanted = set(names)
        if not wanted:
            return {}
        rows = await session.execute(
            select(self.model.name, self.model.id).where(self.model.name.in_(wanted))
        )
        found = {name: ident for name, ident in rows.all()}
        if missing := wanted - set(found):
            raise UnknownNames(self.missing, missing)
        return found

    async def get(self, session: AsyncSession, name: str) -> ResourceClass | Trait:
        """The row named `name`, or NotFound in upstream's words."""
        row = await session.scalar(select(self.model).where(self.model.name == name))
        if row is None:
            raise NotFound(f"No such {self.missing} {name}.")
        return row

    async def listing(
        self, session: AsyncSession, *, within: Iterable[str] | None = None, prefix: str = ""
    ) -> list[str]:
        """Names, sorted; optionally only those `within` a set or starting with `prefix`."""
        query = select(self.model.name).order_by(self.model.name)
        if within is not None:
            query = query.where(self.model.name.in_(set(within)))
        if prefix:
            query = query.where(self.model.name.startswith(prefix, autoescape=True))
        return list((await session.scalars(query)).all())

    async def ensure(self, db: Database, name: str) -> bool:
        """Create `name` unless it exists; True when this call created it.

        Two clients creating the same name at once both succeed: the loser of the
        unique-key race sees the winner's row, as an idempotent PUT should.
        """
        try:
            async with db.transaction() as session:
                exists = await session.scalar(select(self.model.id).where(self.model.name == name))
                if exists is not None:
                    return False
                session.add(self.model(name=name))
        except IntegrityError:
            return False
        return True

    async def remove(self, session: AsyncSession, ident: int) -> None:
        await session.execute(delete(self.model).where(self.model.id == ident))


RESOURCE_CLASSES = Vocabulary(ResourceClass, "resource class")
TRAITS = Vocabulary(Trait, "trait(s):")
