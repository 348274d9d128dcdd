"""Flavors: the sizes servers come in, who may use a private one, and their extra specs.

A flavor is addressed by its ``flavorid`` (a string the admin chose, or a UUID), never
by the row id. A private flavor is visible only to admins and to the projects on its
access list; for anybody else it does not exist (404), as in Nova.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, delete, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import instances
from nimbus.compute.rows import add_unique
from nimbus.db.base import utcnow
from nimbus.db.models.compute import Flavor, FlavorExtraSpec, FlavorProject
from nimbus.errors import BadRequest, Conflict, NotFound

#: Nova's sort keys for GET /flavors (vcpu_weight is not kept, so it sorts by id).
SORT_KEYS = {
    "created_at": Flavor.created_at,
    "description": Flavor.description,
    "disabled": Flavor.disabled,
    "ephemeral_gb": Flavor.ephemeral_gb,
    "flavorid": Flavor.flavorid,
    "id": Flavor.id,
    "is_public": Flavor.is_public,
    "memory_mb": Flavor.memory_mb,
    "name": Flavor.name,
    "root_gb": Flavor.root_gb,
    "rxtx_factor": Flavor.rxtx_factor,
    "swap": Flavor.swap,
    "updated_at": Flavor.updated_at,
    "vcpu_weight": Flavor.id,
    "vcpus": Flavor.vcpus,
}


class FlavorNotFound(NotFound):
    def __init__(self, flavorid: str) -> None:
        super().__init__(f"Flavor {flavorid} could not be found.")


@dataclass(frozen=True)
class Viewer:
    """Who is looking: admins see every flavor, others the public ones and the private
    ones their project was given."""

    project_id: str | None
    is_admin: bool


def _public_or_granted(viewer: Viewer) -> Any:
    granted = exists().where(
        FlavorProject.flavor_id == Flavor.id, FlavorProject.project_id == viewer.project_id
    )
    return or_(Flavor.is_public == true(), granted)


def _visible(query: Select[Any], viewer: Viewer) -> Select[Any]:
    return query if viewer.is_admin else query.where(_public_or_granted(viewer))


def record_in(connection: Connection, flavorid: str, viewer: Viewer) -> dict[str, Any]:
    """The flavor `viewer` may see, as an instance keeps it (extra specs included), or
    FlavorNotFound; two queries in one unit of work (nimbus.placement.work)."""
    query = select(*Flavor.__table__.columns).where(Flavor.flavorid == flavorid)
    flavor = connection.execute(_visible(query, viewer)).first()
    if flavor is None:
        raise FlavorNotFound(flavorid)
    specs = connection.execute(
        select(FlavorExtraSpec.key, FlavorExtraSpec.value).where(
            FlavorExtraSpec.flavor_id == flavor.id
        )
    )
    return instances.flavor_record(flavor, dict(specs.all()))


async def get(session: AsyncSession, flavorid: str, viewer: Viewer) -> Flavor:
    """The flavor `viewer` may see, or FlavorNotFound."""
    row = await session.scalar(_visible(select(Flavor).where(Flavor.flavorid == flavorid), viewer))
    if row is None:
        raise FlavorNotFound(flavorid)
    return row


@dataclass(frozen=True)
class Listing:
    """GET /flavors' filters: is_public True lists public flavors and those granted to
    the viewer's project, False private ones, None both (admins may choose; others
    always get True); min_ram/min_disk are lower bounds; marker is a flavorid."""

    is_public: bool | None = True
    min_ram: int | None = None
    min_disk: int | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int = 1000
    marker: str | None = None
    #: a regular expression the name must match (2.102)
    name: str | None = None


async def list_flavors(session: AsyncSession, viewer: Viewer, listing: Listing) -> list[Flavor]:
    """One page of flavors, as Nova pages them: sorted by the key (then the row id),
    after the marker's position."""
    query = _visible(select(Flavor), viewer)
    if listing.is_public:
        # "Public" includes the private flavors the caller's project was given, for
        # admins too, as upstream's query does.
        query = query.where(_public_or_granted(viewer))
    elif listing.is_public is False:
        query = query.where(Flavor.is_public == false())
    if not viewer.is_admin:
        query = query.where(Flavor.disabled == false())
    if listing.min_ram is not None:
        query = query.where(Flavor.memory_mb >= listing.min_ram)
    if listing.min_disk is not None:
        query = query.where(Flavor.root_gb >= listing.min_disk)
    column = SORT_KEYS[listing.sort_key]
    descending = listing.sort_dir == "desc"
    if listing.marker is not None:
        marker = await session.scalar(select(Flavor).where(Flavor.flavorid == listing.marker))
        if marker is None:
            raise BadRequest(f"marker [{listing.marker}] not found")
        query = query.where(_after(column, getattr(marker, column.key), marker.id, descending))
    order = (column.desc(), Flavor.id.desc()) if descending else (column.asc(), Flavor.id.asc())
    query = query.order_by(*order)
    if listing.name is None:
        return list(await session.scalars(query.limit(listing.limit)))
    try:
        pattern = re.compile(listing.name)
    except re.error:
        raise BadRequest(f"Invalid regular expression for name: {listing.name}") from None
    rows = [row for row in await session.scalars(query) if pattern.search(row.name)]
    return rows[: listing.limit]


def _after(column: Any, value: Any, row_id: int, descending: bool) -> Any:
    """Rows after (value, row_id) in the listing's order (NULLs sort first, as in
    SQLite and MariaDB ascending)."""
    if value is None:
        tie = (column.is_(None)) & (Flavor.id < row_id if descending else Flavor.id > row_id)
        return tie if descending else or_(column.is_not(None), tie)
    if descending:
        return or_(column < value, column.is_(None), (column == value) & (Flavor.id < row_id))
    return or_(column > value, (column == value) & (Flavor.id > row_id))


@dataclass(frozen=True)
class NewFlavor:
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    flavorid: str | None = None
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


async def create(session: AsyncSession, new: NewFlavor) -> Flavor:
    """A new flavor; its id is a UUID when none was given. Names and ids are unique
    (409 in Nova's words)."""
    flavorid = new.flavorid or str(uuid.uuid4())
    name = new.name.strip()
    if await session.scalar(select(Flavor.id).where(Flavor.name == name)):
        raise Conflict(f"Flavor with name {name} already exists.")
    if await session.scalar(select(Flavor.id).where(Flavor.flavorid == flavorid)):
        raise Conflict(f"Flavor with ID {flavorid} already exists.")
    row = Flavor(
        flavorid=flavorid,
        name=name,
        memory_mb=new.memory_mb,
        vcpus=new.vcpus,
        root_gb=new.root_gb,
        ephemeral_gb=new.ephemeral_gb,
        swap=new.swap,
        rxtx_factor=new.rxtx_factor,
        is_public=new.is_public,
        disabled=False,
        description=new.description,
    )
    await add_unique(session, row, f"Flavor with name {name} already exists.")
    return row


async def set_description(session: AsyncSession, flavor: Flavor, description: str | None) -> None:
    flavor.description = description
    flavor.updated_at = utcnow()
    await session.flush()


async def delete_flavor(session: AsyncSession, flavorid: str) -> None:
    """Servers keep the copy of the flavor they booted with, so deleting is always
    allowed (as in Nova)."""
    row = await session.scalar(select(Flavor).where(Flavor.flavorid == flavorid))
    if row is None:
        raise FlavorNotFound(flavorid)
    await session.execute(delete(FlavorExtraSpec).where(FlavorExtraSpec.flavor_id == row.id))
    await session.execute(delete(FlavorProject).where(FlavorProject.flavor_id == row.id))
    await session.delete(row)


# --- extra specs ----------------------------------------------------------------------


async def extra_specs(session: AsyncSession, flavor: Flavor) -> dict[str, str]:
    rows = await session.execute(
        select(FlavorExtraSpec.key, FlavorExtraSpec.value).where(
            FlavorExtraSpec.flavor_id == flavor.id
        )
    )
    return {key: value for key, value in rows}


async def extra_specs_of(session: AsyncSession, flavors: list[Flavor]) -> dict[int, dict[str, str]]:
    """The extra specs of many flavors in one query, by row id."""
    specs: dict[int, dict[str, str]] = {f.id: {} for f in flavors}
    if flavors:
        rows = await session.execute(
            select(FlavorExtraSpec.flavor_id, FlavorExtraSpec.key, FlavorExtraSpec.value).where(
                FlavorExtraSpec.flavor_id.in_(list(specs))
            )
        )
        for flavor_id, key, value in rows:
            specs[flavor_id][key] = value
    return specs


async def set_extra_specs(session: AsyncSession, flavor: Flavor, specs: Mapping[str, str]) -> None:
    """Create or overwrite the given keys; the others stay."""
    current = await extra_specs(session, flavor)
    for key, value in specs.items():
        if key in current:
            row = await session.get(FlavorExtraSpec, (flavor.id, key))
            assert row is not None
            row.value = value
        else:
            session.add(FlavorExtraSpec(flavor_id=flavor.id, key=key, value=value))
    await session.flush()


async def delete_extra_spec(session: AsyncSession, flavor: Flavor, key: str) -> None:
    result = await session.execute(
        delete(FlavorExtraSpec).where(
            FlavorExtraSpec.flavor_id == flavor.id, FlavorExtraSpec.key == key
        )
    )
    if not result.rowcount:
        raise NotFound(f"Flavor {flavor.flavorid} has no extra specs with key {key}.")


# --- access to private flavors --------------------------------------------------------


async def access_list(session: AsyncSession, flavor: Flavor) -> list[str]:
    """The projects a private flavor was given to, in a stable order."""
    rows = await session.scalars(
        select(FlavorProject.project_id)
        .where(FlavorProject.flavor_id == flavor.id)
        .order_by(FlavorProject.project_id)
    )
    return list(rows)


async def add_access(
    session: AsyncSession, flavor: Flavor, project_id: str, *, refuse_public: bool = True
) -> None:
    """Give `project_id` a private flavor (Nova refuses public ones from 2.7 on)."""
    if flavor.is_public and refuse_public:
        raise Conflict("Can not add access to a public flavor.")
    if await session.get(FlavorProject, (flavor.id, project_id)) is not None:
        raise Conflict(
            f"Flavor access already exists for flavor {flavor.flavorid} and project "
            f"{project_id} combination."
        )
    session.add(FlavorProject(flavor_id=flavor.id, project_id=project_id))
    await session.flush()


async def remove_access(session: AsyncSession, flavor: Flavor, project_id: str) -> None:
    row = await session.get(FlavorProject, (flavor.id, project_id))
    if row is None:
        raise NotFound(f"Flavor access not found for {flavor.flavorid} / {project_id} combination.")
    await session.delete(row)
    await session.flush()
