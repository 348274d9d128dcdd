"""Compute services and nodes: registration, heartbeats, liveness, resource usage.

A daemon registers one service row per (host, binary) and beats by bumping
``report_count`` and ``last_seen_up``; a service is up while its last beat is younger
than ``service_down_time`` (and it is not forced down), as Nova's DB servicegroup
driver decides. A compute agent also registers a node per hypervisor; the node's uuid
is its resource provider's uuid in Placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Update, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.models.cell import ComputeNode, Service

#: Nova's binary names: clients, Tempest and operators filter on them.
COMPUTE = "nova-compute"
CONDUCTOR = "nova-conductor"
SCHEDULER = "nova-scheduler"


def is_up(service: Service, down_time: float, now: datetime | None = None) -> bool:
    """Whether `service` counts as alive: not forced down, beat within `down_time`."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return (now or utcnow()) - service.last_seen_up <= timedelta(seconds=down_time)


async def register_service(session: AsyncSession, host: str, binary: str, topic: str) -> int:
    """The id of the (host, binary) service, created on first start; a start counts as
    a heartbeat, so a restarted service is up at once."""
    row = await session.scalar(
        select(Service).where(Service.host == host, Service.binary == binary)
    )
    now = utcnow()
    if row is None:
        row = Service(host=host, binary=binary, topic=topic, report_count=0)
        session.add(row)
    row.last_seen_up = now
    row.updated_at = now
    await session.flush()
    return row.id


def _beat(service_id: int) -> Update:
    """One beat: a single UPDATE, so many hosts can report often."""
    now = utcnow()
    return (
        update(Service)
        .where(Service.id == service_id)
        .values(report_count=Service.report_count + 1, last_seen_up=now, updated_at=now)
    )


async def heartbeat(session: AsyncSession, service_id: int) -> None:
    await session.execute(_beat(service_id))


def heartbeat_in(connection: Connection, service_id: int) -> None:
    """`heartbeat` as a unit of work (nimbus.placement.work)."""
    connection.execute(_beat(service_id))


@dataclass(frozen=True)
class NodeSpec:
    """What an agent reports about its hypervisor (nimbus.virt.driver.HostResources)."""

    host: str
    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_info: str
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    host_ip: str | None = None


async def register_node(session: AsyncSession, service_id: int, spec: NodeSpec) -> str:
    """The uuid of the host's compute node, created or refreshed from `spec`."""
    row = await session.scalar(
        select(ComputeNode).where(
            ComputeNode.host == spec.host,
            ComputeNode.hypervisor_hostname == spec.hypervisor_hostname,
        )
    )
    values: dict[str, Any] = {**spec.__dict__, "service_id": service_id, "updated_at": utcnow()}
    if row is None:
        row = ComputeNode(**values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    await session.flush()
    return row.uuid


def record_usage_in(
    connection: Connection, node_uuid: str, *, vcpus: int, memory_mb: int, local_gb: int, vms: int
) -> None:
    """What is in use on a node (shown by the hypervisors API); Placement stays the
    authority for claims."""
    connection.execute(
        update(ComputeNode)
        .where(ComputeNode.uuid == node_uuid)
        .values(
            vcpus_used=vcpus,
            memory_mb_used=memory_mb,
            local_gb_used=local_gb,
            running_vms=vms,
            updated_at=utcnow(),
        )
    )
