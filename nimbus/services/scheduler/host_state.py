"""What the filters and weighers know about each candidate host.

The compute nodes, their services and aggregate metadata come from a short-lived
cache (`HostCache`); only when the request names a server group or same/different
host hints are those servers' hosts queried.
"""

from __future__ import annotations

import asyncio
import platform
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import zones
from nimbus.compute.placement_client import Allocations
from nimbus.compute.request_spec import Spec, hint_list
from nimbus.db.base import utcnow
from nimbus.db.engine import Database
from nimbus.db.models.cell import ComputeNode, Instance, Service
from nimbus.db.models.compute import (
    AggregateHost,
    AggregateMetadata,
    ServerGroup,
    ServerGroupMember,
)
from nimbus.placement import work

DEFAULT_ZONE = zones.DEFAULT_ZONE


def _machine() -> str:
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


#: What the hosts of this machine run (the fake driver's hosts share it).
_ARCHITECTURES = (_machine(),)


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
    architectures: tuple[str, ...] = field(default_factory=lambda: _ARCHITECTURES)
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


@dataclass(frozen=True)
class _Node:
    """What the cache keeps of a compute node and its service."""

    uuid: str
    host: str
    node: str
    hypervisor_type: str
    enabled: bool
    forced_down: bool
    last_seen_up: datetime | None


class HostCache:
    """Every compute node with its service and aggregate metadata, re-read at most
    every `ttl` seconds: they change rarely (a host added, disabled, put in an
    aggregate), while every boot needs them. A disabled or dead host may so take
    builds for up to `ttl` seconds more; the agent's own checks and rescheduling
    cover that window, as they cover Nova's."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._loaded_at = -ttl
        self._nodes: dict[str, _Node] = {}
        self._metadata: dict[str, dict[str, set[str]]] = {}
        #: One re-read at a time: the concurrent requests that find the cache stale
        #: wait for it instead of each reading everything again.
        self._reading = asyncio.Lock()

    def _fresh(self) -> bool:
        return time.monotonic() - self._loaded_at < self.ttl

    async def _refresh(self, db: Database) -> None:
        if self._fresh():
            return
        async with self._reading:
            if self._fresh():
                return  # re-read while this request waited
            self._nodes, self._metadata = await work.read(db, _read)
            self._loaded_at = time.monotonic()

    async def load(
        self,
        db: Database,
        offers: dict[str, Allocations],
        capacity: dict[str, dict[str, float]],
        down_time: float,
    ) -> list[HostState]:
        """HostStates of the compute nodes whose provider uuids are `offers`' keys, in
        Placement's order (provider creation order), which breaks ties between equal
        weights."""
        await self._refresh(db)
        cutoff = utcnow() - timedelta(seconds=down_time)
        result = []
        for uuid, allocations in offers.items():
            node = self._nodes.get(uuid)
            if node is None:
                continue  # a provider that is no compute node (yet)
            free = capacity.get(uuid, {})
            result.append(
                HostState(
                    host=node.host,
                    node=node.node,
                    node_uuid=uuid,
                    allocations=allocations,
                    enabled=node.enabled,
                    up=not node.forced_down
                    and node.last_seen_up is not None
                    and node.last_seen_up >= cutoff,
                    hypervisor_type=node.hypervisor_type,
                    free_ram_mb=free.get("MEMORY_MB", 0),
                    free_vcpus=free.get("VCPU", 0),
                    free_disk_gb=free.get("DISK_GB", 0),
                    metadata=self._metadata.get(node.host, {}),
                )
            )
        return result


def _read(
    connection: Connection,
) -> tuple[dict[str, _Node], dict[str, dict[str, set[str]]]]:
    """Every compute node with its service, and each host's aggregate metadata."""
    rows = connection.execute(
        select(
            ComputeNode.uuid,
            ComputeNode.host,
            ComputeNode.hypervisor_hostname,
            ComputeNode.hypervisor_type,
            Service.disabled,
            Service.forced_down,
            Service.last_seen_up,
        ).outerjoin(Service, Service.id == ComputeNode.service_id)
    )
    nodes = {
        uuid: _Node(uuid, host, node, kind, disabled is False, bool(forced), seen)
        for uuid, host, node, kind, disabled, forced, seen in rows.all()
    }
    metadata = connection.execute(
        select(AggregateHost.host, AggregateMetadata.key, AggregateMetadata.value).join(
            AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id
        )
    )
    by_host: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for host, key, value in metadata.all():
        by_host[host][key].add(value)
    return nodes, {host: dict(values) for host, values in by_host.items()}


async def context(
    session: AsyncSession, spec: Spec, placed: Mapping[str, str] | None = None
) -> Context:
    """The request's group and hint hosts (queries only for what the request names).

    `placed` maps instances to the hosts this scheduler chose for them: a group member
    whose host the conductor has not recorded yet (its build is on its way) counts on
    that host, so that two boots into one anti-affinity group in flight at once do
    not both take the same host."""
    found = Context(spec)
    group = spec.get("group")
    if group:
        members = await session.execute(
            select(ServerGroupMember.instance_uuid, Instance.host)
            .join(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
            .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
            .where(ServerGroup.uuid == group["uuid"], Instance.deleted == 0)
        )
        chosen = placed or {}
        found.group_hosts = [
            host for uuid, recorded in members.all() if (host := recorded or chosen.get(uuid))
        ]
    same, different = hint_list(spec, "same_host"), hint_list(spec, "different_host")
    if same:
        found.same_hosts = set(await _hosts_of(session, same))
    if different:
        found.different_hosts = set(await _hosts_of(session, different))
    return found


async def _hosts_of(session: AsyncSession, uuids: list[str]) -> list[str]:
    """The hosts of the live instances among `uuids` (same/different host hints)."""
    rows = await session.scalars(
        select(Instance.host).where(
            Instance.uuid.in_(uuids), Instance.deleted == 0, Instance.host.is_not(None)
        )
    )
    return list(rows.all())
