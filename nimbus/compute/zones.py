"""Availability zones, as Nova derives them: from services, not from aggregates alone.

A compute service is in the zones of the aggregates its host belongs to, or in the
default zone ("nova") when none names one; every other service is in the internal
zone. A zone is *available* while at least one of its services is enabled, and a zone
no service is in (an aggregate with a zone but no hosts) is not listed at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import aggregates
from nimbus.compute.hosts import COMPUTE
from nimbus.db.models.cell import Service

#: Nova's default_availability_zone and internal_service_availability_zone.
DEFAULT_ZONE = "nova"
INTERNAL_ZONE = "internal"
#: API services are not RPC services; Nova leaves them out of zone and service lists.
API_BINARIES = ("nova-osapi_compute", "nova-metadata")


@dataclass(frozen=True)
class ZonedService:
    service: Service
    zone: str


async def zoned(session: AsyncSession, services: Iterable[Service]) -> list[ZonedService]:
    """Each service with its zone (several joined by "," as upstream does)."""
    rows = list(services)
    zones = await aggregates.host_zones(session, [s.host for s in rows if s.binary == COMPUTE])
    result = []
    for service in rows:
        if service.binary != COMPUTE:
            zone = INTERNAL_ZONE
        else:
            zone = ",".join(sorted(zones.get(service.host, ()))) or DEFAULT_ZONE
        result.append(ZonedService(service, zone))
    return result


async def all_services(session: AsyncSession) -> list[ZonedService]:
    """Every RPC service, zoned, in registration order."""
    query = select(Service).where(Service.binary.not_in(API_BINARIES)).order_by(Service.id)
    return await zoned(session, await session.scalars(query))


def split(services: list[ZonedService]) -> tuple[list[str], list[str]]:
    """(available zones, zones with only disabled services), each sorted."""
    available = {s.zone for s in services if not s.service.disabled}
    unavailable = {s.zone for s in services if s.service.disabled} - available
    return sorted(available), sorted(unavailable)
