"""The service catalog: services, their endpoints and regions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows, get, where_equal
from nimbus.db.models.identity import Endpoint, Region, Service
from nimbus.errors import BadRequest, Conflict, Forbidden

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


# -- regions ---------------------------------------------------------------------------


async def get_region(session: AsyncSession, region_id: str) -> Region:
    return await get(session, Region, region_id, "region")


async def list_regions(session: AsyncSession, **filters: Any) -> list[Region]:
    return await all_rows(session, where_equal(select(Region), Region, filters).order_by(Region.id))


async def create_region(
    session: AsyncSession, *, id: str, parent_region_id: str | None, **fields: Any
) -> Region:
    if await session.get(Region, id) is not None:
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, {id}.")
    if parent_region_id is not None:
        await get_region(session, parent_region_id)
    region = Region(id=id, parent_region_id=parent_region_id, **fields)
    session.add(region)
    await session.flush()
    return region


async def set_parent_region(session: AsyncSession, region: Region, parent_id: str | None) -> None:
    """Move a region under `parent_id`, refusing a parent that would close a loop."""
    ancestor = parent_id
    while ancestor is not None:
        if ancestor == region.id:
            raise BadRequest(
                f"The specified parent region {parent_id} would create a circular region hierarchy."
            )
        ancestor = (await get_region(session, ancestor)).parent_region_id
    region.parent_region_id = parent_id


async def _region_tree(session: AsyncSession, region_id: str) -> list[str]:
    """`region_id` and every region below it."""
    tree = [region_id]
    frontier = [region_id]
    while frontier:
        frontier = [
            r
            for r in await all_rows(
                session, select(Region.id).where(Region.parent_region_id.in_(frontier))
            )
            if r not in tree
        ]
        tree += frontier
    return tree


async def delete_region(session: AsyncSession, region: Region) -> None:
    """Delete a region and the regions below it, unless any of them still has endpoints."""
    tree = await _region_tree(session, region.id)
    if await session.scalar(select(Endpoint.id).where(Endpoint.region_id.in_(tree)).limit(1)):
        raise Forbidden(
            f"Unable to delete region {region.id} because it or its child regions have "
            "associated endpoints."
        )
    await session.execute(delete(Region).where(Region.id.in_(tree)))


# -- services --------------------------------------------------------------------------


async def get_service(session: AsyncSession, service_id: str) -> Service:
    return await get(session, Service, service_id, "service")


async def list_services(
    session: AsyncSession, *, type: str | None = None, name: str | None = None
) -> list[Service]:
    """Services, filtered by type and by name (which Keystone keeps among the extras)."""
    rows = await all_rows(session, where_equal(select(Service), Service, {"type": type}))
    return [s for s in rows if name is None or s.extra.get("name") == name]


async def create_service(session: AsyncSession, **fields: Any) -> Service:
    service = Service(**fields)
    session.add(service)
    await session.flush()
    return service


async def delete_service(session: AsyncSession, service: Service) -> None:
    await session.execute(delete(Endpoint).where(Endpoint.service_id == service.id))
    await session.delete(service)


# -- endpoints -------------------------------------------------------------------------


async def get_endpoint(session: AsyncSession, endpoint_id: str) -> Endpoint:
    return await get(session, Endpoint, endpoint_id, "endpoint")


async def list_endpoints(session: AsyncSession, **filters: Any) -> list[Endpoint]:
    query = where_equal(select(Endpoint), Endpoint, filters)
    return await all_rows(session, query.order_by(Endpoint.service_id, Endpoint.interface))


async def create_endpoint(
    session: AsyncSession, *, service_id: str, region_id: str | None, **fields: Any
) -> Endpoint:
    await check_endpoint_refs(session, service_id=service_id, region_id=region_id)
    endpoint = Endpoint(service_id=service_id, region_id=region_id, **fields)
    session.add(endpoint)
    await session.flush()
    return endpoint


def _not_in(attribute: str, table: str) -> BadRequest:
    """Keystone's ValidationError for a reference to a row that does not exist."""
    return BadRequest(
        f"Expecting to find {attribute} in {table}. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is "
        "assumed to be in error."
    )


async def check_endpoint_refs(
    session: AsyncSession, *, service_id: str | None, region_id: str | None
) -> None:
    """An endpoint names an existing service and region, else the request is a 400."""
    if region_id is not None and await session.get(Region, region_id) is None:
        raise _not_in("endpoint region_id", "region table")
    if service_id is not None and await session.get(Service, service_id) is None:
        raise _not_in("endpoint service_id", "service table")


async def delete_endpoint(session: AsyncSession, endpoint: Endpoint) -> None:
    await session.delete(endpoint)
