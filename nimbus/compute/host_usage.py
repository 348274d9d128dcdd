"""What a compute host holds, as the legacy os-hosts API (removed upstream at 2.43)
reports it: totals and current use from its compute nodes, the flavor sizes of the
servers on it, and those sizes per project.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.hosts import COMPUTE
from nimbus.compute.service_admin import instances_on
from nimbus.db.models.cell import ComputeNode, Service
from nimbus.errors import NotFound


class ComputeHostNotFound(NotFound):
    def __init__(self, host: str) -> None:
        super().__init__(f"Compute host {host} could not be found.")


@dataclass(frozen=True)
class Usage:
    """One line of a host's report: `project` is a project id or Nova's "(total)",
    "(used_now)" (what the nodes report) or "(used_max)" (the servers' flavors)."""

    project: str
    cpu: int
    memory_mb: int
    disk_gb: int


async def compute_service(session: AsyncSession, host: str) -> Service:
    """The compute service of `host` (404 in Nova's words when it has none)."""
    row = await session.scalar(
        select(Service).where(Service.host == host, Service.binary == COMPUTE)
    )
    if row is None:
        raise ComputeHostNotFound(host)
    return row


async def host_usage(session: AsyncSession, host: str) -> list[Usage]:
    """Totals, use now, use at flavor size, then each project's use at flavor size."""
    nodes = list(await session.scalars(select(ComputeNode).where(ComputeNode.host == host)))
    if not nodes:
        raise ComputeHostNotFound(host)
    lines = [
        Usage(
            "(total)",
            sum(n.vcpus for n in nodes),
            sum(n.memory_mb for n in nodes),
            sum(n.local_gb for n in nodes),
        ),
        Usage(
            "(used_now)",
            sum(n.vcpus_used for n in nodes),
            sum(n.memory_mb_used for n in nodes),
            sum(n.local_gb_used for n in nodes),
        ),
    ]
    per_project: dict[str, list[int]] = {}
    for server in await instances_on(session, host):
        sums = per_project.setdefault(server.project_id, [0, 0, 0])
        sums[0] += server.vcpus
        sums[1] += server.memory_mb
        sums[2] += server.root_gb + server.ephemeral_gb
    used_max = [sum(sums[i] for sums in per_project.values()) for i in range(3)]
    lines.append(Usage("(used_max)", *used_max))
    lines += [Usage(project, *sums) for project, sums in per_project.items()]
    return lines
