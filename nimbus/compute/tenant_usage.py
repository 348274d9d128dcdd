"""Usage per project over a period (os-simple-tenant-usage): for each server that
ran during the period, the hours it ran inside it, and per project the sums of
hours and of hours times vCPUs, RAM and disk, as Nova computes them.

All times are naive UTC. Deleted servers count for the hours before their deletion;
a server that never became active (no launch time) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.models.cell import Instance


def _naive(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=None) if moment else None


@dataclass
class ServerUsage:
    instance_id: str
    name: str
    tenant_id: str
    flavor: str
    vcpus: int
    memory_mb: int
    local_gb: int
    hours: float
    started_at: datetime
    ended_at: datetime | None
    state: str
    uptime: int


@dataclass
class TenantUsage:
    tenant_id: str
    start: datetime
    stop: datetime
    total_hours: float = 0.0
    total_vcpus_usage: float = 0.0
    total_memory_mb_usage: float = 0.0
    total_local_gb_usage: float = 0.0
    server_usages: list[ServerUsage] = field(default_factory=list)


def hours_within(
    launched: datetime, terminated: datetime | None, start: datetime, stop: datetime
) -> float:
    """The hours between launch and termination (or the period's end) that fall in the
    period [start, stop]."""
    if (terminated and terminated < start) or launched > stop:
        return 0.0
    end = min(stop, terminated) if terminated else stop
    return (end - max(launched, start)).total_seconds() / 3600.0


def _server_usage(server: Any, start: datetime, stop: datetime, now: datetime) -> ServerUsage:
    launched: datetime = server.launched_at.replace(tzinfo=None)  # set: see `usage`'s query
    terminated = _naive(server.terminated_at)
    flavor = (server.flavor or {}).get("current") or {}
    return ServerUsage(
        instance_id=server.uuid,
        name=server.display_name,
        tenant_id=server.project_id,
        flavor=flavor.get("name", ""),
        vcpus=server.vcpus,
        memory_mb=server.memory_mb,
        local_gb=server.root_gb + server.ephemeral_gb,
        hours=hours_within(launched, terminated, start, stop),
        started_at=launched,
        ended_at=terminated,
        state="terminated" if terminated else server.vm_state,
        uptime=int(((terminated or now) - launched).total_seconds()),
    )


async def usage(
    session: AsyncSession, start: datetime, stop: datetime, project_id: str | None = None
) -> dict[str, TenantUsage]:
    """Project id → its usage in [start, stop] (only projects with servers in it)."""
    query = (
        select(Instance)
        .where(
            Instance.launched_at.is_not(None),
            Instance.launched_at < stop,
            or_(Instance.terminated_at.is_(None), Instance.terminated_at > start),
        )
        .order_by(Instance.id)
    )
    if project_id is not None:
        query = query.where(Instance.project_id == project_id)
    now = utcnow().replace(tzinfo=None)
    projects: dict[str, TenantUsage] = {}
    for server in await session.scalars(query):
        line = _server_usage(server, start, stop, now)
        total = projects.setdefault(line.tenant_id, TenantUsage(line.tenant_id, start, stop))
        total.total_hours += line.hours
        total.total_vcpus_usage += line.vcpus * line.hours
        total.total_memory_mb_usage += line.memory_mb * line.hours
        total.total_local_gb_usage += line.local_gb * line.hours
        total.server_usages.append(line)
    return projects
