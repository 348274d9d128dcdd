"""The service catalog: services, their endpoints and regions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.identity import Endpoint, Region, Service

INTERFACES = ("public", "internal", "admin")


async def build(session: AsyncSession) -> list[dict[str, Any]]:
    """The catalog as tokens carry it: enabled services with their enabled endpoints."""
    services = (await session.scalars(select(Service).where(Service.enabled))).all()
    endpoints = (await session.scalars(select(Endpoint).where(Endpoint.enabled))).all()
    by_service: dict[str, list[dict[str, Any]]] = {s.id: [] for s in services}
    for endpoint in endpoints:
        if endpoint.service_id in by_service:
            by_service[endpoint.service_id].append(
                {
                    "id": endpoint.id,
                    "interface": endpoint.interface,
                    "region_id": endpoint.region_id,
                    "region": endpoint.region_id,
                    "url": endpoint.url,
                }
            )
    return [
        {
            "id": service.id,
            "type": service.type,
            "name": service.extra.get("name", ""),
            "endpoints": by_service[service.id],
        }
        for service in services
    ]


async def ensure_region(session: AsyncSession, region_id: str) -> None:
    if await session.get(Region, region_id) is None:
        session.add(Region(id=region_id, description=""))
        await session.flush()


async def ensure_service(
    session: AsyncSession, *, type: str, name: str, url: str, region_id: str
) -> Service:
    """Register `type` with an endpoint per interface at `url`; a moved URL is updated.

    This is how `nimbus up` keeps the catalog true to the ports it actually serves.
    """
    service = await session.scalar(select(Service).where(Service.type == type))
    if service is None:
        service = Service(type=type, enabled=True, extra={"name": name})
        session.add(service)
        await session.flush()
    existing = {
        e.interface: e
        for e in (
            await session.scalars(
                select(Endpoint).where(
                    Endpoint.service_id == service.id, Endpoint.region_id == region_id
                )
            )
        ).all()
    }
    for interface in INTERFACES:
        endpoint = existing.get(interface)
        if endpoint is None:
            session.add(
                Endpoint(service_id=service.id, interface=interface, url=url, region_id=region_id)
            )
        elif endpoint.url != url:
            endpoint.url = url
    await session.flush()
    return service
