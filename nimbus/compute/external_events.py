"""Events other services report about servers (os-server-external-events): Neutron's
port events, Cinder's volume events, a power change seen by the hypervisor's owner.

Nova hands each accepted event to the server's compute host. No service of Nimbus
waits on one yet (there is no port binding to wait for, no volume to extend), so an
accepted event is acknowledged and goes no further; what this module decides is
Nova's verdict per event: 200 for a server on a host, 404 for no such server, 422 for
one that has no host yet.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.cell import Instance

ACCEPTED, NOT_FOUND, NO_HOST = 200, 404, 422


async def verdicts(session: AsyncSession, server_uuids: list[str]) -> dict[str, int]:
    """Each server's verdict (ACCEPTED, NOT_FOUND or NO_HOST), by uuid."""
    rows = await session.execute(
        select(Instance.uuid, Instance.host).where(
            Instance.uuid.in_(server_uuids), Instance.deleted == 0
        )
    )
    hosts = dict(rows.all())
    return {
        uuid: NOT_FOUND if uuid not in hosts else ACCEPTED if hosts[uuid] else NO_HOST
        for uuid in server_uuids
    }
