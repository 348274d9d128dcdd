"""What the filters and weighers know about each candidate host.

Loaded once per scheduling request for the hosts Placement offered, in a handful of
queries whatever their number: the compute node and its service, the host's
aggregates (and their metadata), and, only when the request names a server group or
same/different-host hints, where those servers run.
"""

from __future__ import annotations

import platform
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import hosts as host_records
from nimbus.compute import zones
from nimbus.compute.placement_client import Allocations
from nimbus.compute.request_spec import Spec, hint_list
from nimbus.db.models.cell import ComputeNode, Instance, Service
from nimbus.db.models.compute import (
    AggregateHost,
    AggregateMetadata,
    ServerGroup,
    ServerGroupMember,
)

DEFAULT_ZONE = zones.DEFAULT_ZONE


def _machine() -> str:
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


@dataclass
class HostState:
    """One candidate host; `free_*` shrink as this request places instances on it."""

    host: str
    node: str
    node_uuid: str
    #: The claim Placement proposed for this host.
    allocations: Allocations
    enabled: bool = True
    up: bool = True
    hypervisor_type: str = "fake"
    architectures: tuple[str, ...] = field(default_factory=lambda: (_machine(),))
    free_ram_mb: float = 0
    free_vcpus: float = 0
    free_disk_gb: float = 0
    #: aggregate metadata key → every value this host's aggregates give it
    metadata: dict[str, set[str]] = field(default_factory=dict)
    instances: int = 0

    @property
    def zone(self) -> str:
        zones = self.metadata.get("availability_zone")
        return sorted(zones)[0] if zones else DEFAULT_ZONE


@dataclass
class Context:
    """Facts about the request that filters share: the group's hosts, hinted hosts."""

    spec: Spec
    group_hosts: list[str] = field(default_factory=list)
    same_hosts: set[str] = field(default_factory=set)
    different_hosts: set[str] = field(default_factory=set)


async def load(
    session: AsyncSession,
    offers: dict[str, Allocations],
    capacity: dict[str, dict[str, float]],
    down_time: float,
) -> list[HostState]:
    """HostStates of the compute nodes whose provider uuids are `offers`' keys."""
    rows = await session.execute(
        select(ComputeNode, Service)
        .outerjoin(Service, Service.id == ComputeNode.service_id)
        .where(ComputeNode.uuid.in_(list(offers)))
    )
    result = []
    for node, service in rows.all():
        free = capacity.get(node.uuid, {})
        result.append(
            HostState(
                host=node.host,
                node=node.hypervisor_hostname,
                node_uuid=node.uuid,
                allocations=offers[node.uuid],
                enabled=service is not None and not service.disabled,
                up=service is not None and host_records.is_up(service, down_time),
                hypervisor_type=node.hypervisor_type,
                free_ram_mb=free.get("MEMORY_MB", 0),
                free_vcpus=free.get("VCPU", 0),
                free_disk_gb=free.get("DISK_GB", 0),
            )
        )
    await _add_aggregates(session, result)
    return result


async def _add_aggregates(session: AsyncSession, states: list[HostState]) -> None:
    names = [s.host for s in states]
    rows = await session.execute(
        select(AggregateHost.host, AggregateMetadata.key, AggregateMetadata.value)
        .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
        .where(AggregateHost.host.in_(names))
    )
    by_host: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for host, key, value in rows.all():
        by_host[host][key].add(value)
    for state in states:
        state.metadata = dict(by_host.get(state.host, {}))


async def context(session: AsyncSession, spec: Spec) -> Context:
    """The request's group and hint hosts (queries only for what the request names)."""
    found = Context(spec)
    group = spec.get("group")
    if group:
        found.group_hosts = await _hosts_of(
            session,
            select(ServerGroupMember.instance_uuid)
            .join(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
            .where(ServerGroup.uuid == group["uuid"]),
        )
    same, different = hint_list(spec, "same_host"), hint_list(spec, "different_host")
    if same:
        found.same_hosts = set(await _hosts_of(session, same))
    if different:
        found.different_hosts = set(await _hosts_of(session, different))
    return found


async def _hosts_of(session: AsyncSession, uuids) -> list[str]:  # type: ignore[no-untyped-def]
    """The hosts of the live instances among `uuids` (a list or a subquery), one entry
    per instance so that anti-affinity can count servers per host."""
    rows = await session.scalars(
        select(Instance.host).where(
            Instance.uuid.in_(uuids), Instance.deleted == 0, Instance.host.is_not(None)
        )
    )
    return list(rows.all())
