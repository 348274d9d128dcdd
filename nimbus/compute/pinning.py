"""The availability zone a server is pinned to: the zone its request spec keeps, which
later moves (unshelve, migrate, evacuate) must honour. Shown as
``pinned_availability_zone`` from 2.96; changed by unshelve (2.77/2.91) and, from
2.104, by ``PUT /servers/{id}`` with Nova's rules (nova/compute/api.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.cell import Instance
from nimbus.db.models.compute import RequestSpec
from nimbus.errors import Conflict


async def pin(session: AsyncSession, uuid: str, zone: str | None) -> None:
    """Pin the server to `zone` (None: unpin)."""
    row = await session.get(RequestSpec, uuid)
    if row is not None:
        row.spec = {**row.spec, "availability_zone": zone}


async def repin(session: AsyncSession, instance: Instance, wanted: str | None) -> None:
    """2.104: null unpins; the current pin again changes nothing; a zone may only be
    pinned when unpinned and it is where the server is now (409 otherwise)."""
    row = await session.get(RequestSpec, instance.uuid)
    current = (row.spec if row is not None else {}).get("availability_zone")
    if wanted is None or wanted == current:
        await pin(session, instance.uuid, wanted)
        return
    if current is not None:
        raise Conflict(
            f"Server {instance.uuid} is pinned to availability zone {current}: unpin it "
            f"(null) before pinning it to {wanted}."
        )
    if wanted != instance.availability_zone:
        raise Conflict(
            f"Server {instance.uuid} is in availability zone {instance.availability_zone}, "
            f"not {wanted}: it can only be pinned to the zone it is in."
        )
    await pin(session, instance.uuid, wanted)
