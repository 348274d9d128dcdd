"""What operators do to services and hypervisors through the API: find, enable,
disable, force down and delete services; read compute nodes and their totals.

The rows are written by the daemons (nimbus.compute.hosts); here they are only read
and changed by an admin. Liveness is nimbus.compute.hosts.is_up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import aggregates
from nimbus.compute.hosts import COMPUTE
from nimbus.compute.zones import API_BINARIES
from nimbus.db.base import utcnow
from nimbus.db.models.cell import ComputeNode, Instance, Service
from nimbus.errors import BadRequest, Conflict, NotFound


class ServiceNotFound(NotFound):
    def __init__(self, service_id: int | str) -> None:
        super().__init__(f"Service {service_id} could not be found.")


async def list_services(
    session: AsyncSession, *, host: str | None = None, binary: str | None = None
) -> list[Service]:
    query = select(Service).where(Service.binary.not_in(API_BINARIES)).order_by(Service.id)
    if host:
        query = query.where(Service.host == host)
    if binary:
        query = query.where(Service.binary == binary)
    return list(await session.scalars(query))


async def get_service(session: AsyncSession, service_id: int | str) -> Service:
    """By row id (an int) or uuid (a str), as the microversion in use names them."""
    column = Service.id if isinstance(service_id, int) else Service.uuid
    row = await session.scalar(select(Service).where(column == service_id))
    if row is None:
        raise ServiceNotFound(service_id)
    return row


async def by_host_and_binary(session: AsyncSession, host: str, binary: str) -> Service:
    """Only compute services may be changed (400 otherwise, as upstream)."""
    refuse_non_compute(binary)
    row = await session.scalar(
        select(Service).where(Service.host == host, Service.binary == binary)
    )
    if row is None:
        raise NotFound(f"Could not find binary {binary} on host {host}.")
    return row


def refuse_non_compute(binary: str) -> None:
    """Only compute services may be enabled, disabled or forced down (400)."""
    if binary != COMPUTE:
        raise BadRequest(
            f"Updating a {binary} service is not supported. Only nova-compute services "
            "can be updated."
        )


async def instances_on(session: AsyncSession, host: str) -> list[Instance]:
    query = (
        select(Instance).where(Instance.host == host, Instance.deleted == 0).order_by(Instance.id)
    )
    return list(await session.scalars(query))


async def delete_service(session: AsyncSession, service: Service) -> None:
    """A compute service hosting servers stays (409); otherwise its host leaves every
    aggregate and its compute nodes go with it."""
    if service.binary == COMPUTE:
        hosted = await session.scalar(
            select(func.count(Instance.id)).where(
                Instance.host == service.host, Instance.deleted == 0
            )
        )
        if hosted:
            raise Conflict(
                "Unable to delete compute service that is hosting instances. Migrate or "
                "delete the instances first."
            )
        await aggregates.remove_host_everywhere(session, service.host)
        await session.execute(delete(ComputeNode).where(ComputeNode.host == service.host))
    await session.delete(service)


# --- hypervisors (compute nodes) ------------------------------------------------------


class HypervisorNotFound(NotFound):
    def __init__(self, hypervisor_id: int | str) -> None:
        super().__init__(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


#: A compute node's host's compute service.
_SAME_HOST = (Service.host == ComputeNode.host) & (Service.binary == COMPUTE)


@dataclass(frozen=True)
class Hypervisor:
    """A compute node and the compute service of its host."""

    node: ComputeNode
    service: Service


def _with_service(query: Select[tuple[ComputeNode]]) -> Select[tuple[ComputeNode, Service]]:
    """Nodes whose host has a compute service (a node left behind by a deleted service
    is skipped, as upstream does)."""
    return query.add_columns(Service).join(Service, _SAME_HOST)


async def list_hypervisors(
    session: AsyncSession,
    *,
    limit: int | None = None,
    marker: int | str | None = None,
    pattern: str | None = None,
) -> list[Hypervisor]:
    """Nodes by id; `marker` is a node id (an int) or uuid (a str); `pattern` matches
    part of the hypervisor hostname (404 when nothing does)."""
    query = _with_service(select(ComputeNode)).order_by(ComputeNode.id)
    if pattern is not None:
        query = query.where(ComputeNode.hypervisor_hostname.contains(pattern, autoescape=True))
    if marker is not None:
        column = ComputeNode.id if isinstance(marker, int) else ComputeNode.uuid
        after = await session.scalar(select(ComputeNode.id).where(column == marker))
        if after is None:
            raise BadRequest(f"marker [{marker}] not found")
        query = query.where(ComputeNode.id > after)
    if limit is not None:
        query = query.limit(limit)
    found = [Hypervisor(node, service) for node, service in await session.execute(query)]
    if pattern is not None and not found:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


async def get_hypervisor(session: AsyncSession, hypervisor_id: int | str) -> Hypervisor:
    column = ComputeNode.id if isinstance(hypervisor_id, int) else ComputeNode.uuid
    row = (
        await session.execute(_with_service(select(ComputeNode)).where(column == hypervisor_id))
    ).first()
    if row is None:
        raise HypervisorNotFound(hypervisor_id)
    return Hypervisor(*row)


def uptime(found: Hypervisor, now: datetime | None = None) -> str:
    """The host's uptime in uptime(1)'s format, which libvirt hosts report and clients
    parse (" 08:32:11 up 3 days, 18:25,  0 users,  load average: 0.00, 0.00, 0.00").
    Drivers do not report one yet, so it is the time since the host's compute service
    first registered; users and load are not measured and shown as zero."""
    now = now or utcnow()
    up = now - (found.service.created_at or now)
    hours, rest = divmod(up.seconds, 3600)
    days = f"{up.days} day{'s' if up.days != 1 else ''}, " if up.days else ""
    return (
        f" {now:%H:%M:%S} up {days}{hours:2d}:{rest // 60:02d},  0 users,  "
        "load average: 0.00, 0.00, 0.00"
    )


STATISTICS = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "running_vms",
)


async def statistics(session: AsyncSession) -> dict[str, int]:
    """Totals over the nodes of enabled compute services (Nova's
    compute_node_statistics), with the free figures derived from them."""
    columns = [func.coalesce(func.sum(getattr(ComputeNode, name)), 0) for name in STATISTICS]
    query = (
        select(func.count(ComputeNode.id), *columns)
        .join_from(ComputeNode, Service, _SAME_HOST)
        .where(Service.disabled.is_(False))
    )
    count, *sums = (await session.execute(query)).one()
    totals = {"count": int(count)}
    totals.update({name: int(value) for name, value in zip(STATISTICS, sums, strict=True)})
    totals["free_ram_mb"] = totals["memory_mb"] - totals["memory_mb_used"]
    totals["free_disk_gb"] = totals["local_gb"] - totals["local_gb_used"]
    totals["current_workload"] = 0
    totals["disk_available_least"] = totals["free_disk_gb"]
    return totals
