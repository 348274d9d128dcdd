"""Host aggregates: named sets of compute hosts with metadata; the metadata key
``availability_zone`` makes an aggregate an availability zone.

A host may be in many aggregates but in one availability zone only, and a change that
would move a host with servers to another zone is refused (servers never change zone
behind their owner's back), as in Nova's AggregateAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.hosts import COMPUTE
from nimbus.compute.rows import add_unique
from nimbus.db.base import utcnow
from nimbus.db.models.cell import Instance, Service
from nimbus.db.models.compute import Aggregate, AggregateHost, AggregateMetadata
from nimbus.errors import Conflict, NimbusError, NotFound

AZ_KEY = "availability_zone"


class AggregateNotFound(NotFound):
    def __init__(self, aggregate_id: int | str) -> None:
        super().__init__(f"Aggregate {aggregate_id} could not be found.")


class ComputeHostNotFound(NotFound):
    def __init__(self, host: str) -> None:
        super().__init__(f"Compute host {host} could not be found.")


@dataclass
class Details:
    """An aggregate with its hosts and metadata, as every view shows it."""

    row: Aggregate
    hosts: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(AZ_KEY)


async def details(session: AsyncSession, rows: list[Aggregate]) -> list[Details]:
    """Hosts and metadata of many aggregates in two queries."""
    found = {row.id: Details(row) for row in rows}
    if found:
        ids = list(found)
        for aggregate_id, host in await session.execute(
            select(AggregateHost.aggregate_id, AggregateHost.host)
            .where(AggregateHost.aggregate_id.in_(ids))
            .order_by(AggregateHost.host)
        ):
            found[aggregate_id].hosts.append(host)
        for aggregate_id, key, value in await session.execute(
            select(
                AggregateMetadata.aggregate_id, AggregateMetadata.key, AggregateMetadata.value
            ).where(AggregateMetadata.aggregate_id.in_(ids))
        ):
            found[aggregate_id].metadata[key] = value
    return list(found.values())


async def get(session: AsyncSession, aggregate_id: int) -> Details:
    row = await session.get(Aggregate, aggregate_id)
    if row is None:
        raise AggregateNotFound(aggregate_id)
    (found,) = await details(session, [row])
    return found


async def list_all(session: AsyncSession) -> list[Details]:
    return await details(
        session, list(await session.scalars(select(Aggregate).order_by(Aggregate.id)))
    )


async def host_zones(session: AsyncSession, hosts: list[str] | None = None) -> dict[str, set[str]]:
    """The availability zones each host is in through its aggregates (hosts in none
    are absent): normally one, more only if data predates the one-zone rule."""
    query = (
        select(AggregateHost.host, AggregateMetadata.value)
        .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
        .where(AggregateMetadata.key == AZ_KEY)
    )
    if hosts is not None:
        query = query.where(AggregateHost.host.in_(hosts))
    zones: dict[str, set[str]] = {}
    for host, zone in await session.execute(query):
        zones.setdefault(host, set()).add(zone)
    return zones


async def _zone_of_host_elsewhere(session: AsyncSession, host: str, aggregate_id: int) -> set[str]:
    """The zones `host` gets from aggregates other than `aggregate_id`."""
    query = (
        select(AggregateMetadata.value)
        .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
        .where(
            AggregateHost.host == host,
            AggregateMetadata.key == AZ_KEY,
            AggregateMetadata.aggregate_id != aggregate_id,
        )
    )
    return set(await session.scalars(query))


async def _instances_on(session: AsyncSession, hosts: list[str]) -> int:
    if not hosts:
        return 0
    query = select(func.count(Instance.id)).where(Instance.host.in_(hosts), Instance.deleted == 0)
    return int(await session.scalar(query) or 0)


class InvalidAggregateAction(NimbusError):
    """Nova's InvalidAggregateAction*: the `what` of its message names the action."""

    code = 400
    title = "Bad Request"

    def __init__(self, what: str, aggregate_id: int, reason: str, *, code: int = 400) -> None:
        super().__init__(f"Cannot {what} aggregate {aggregate_id}. Reason: {reason}.")
        self.code = code


async def _check_zone_change(
    session: AsyncSession,
    aggregate: Details,
    zone: str | None,
    what: str,
    *,
    hosts: list[str] | None = None,
    code: int = 400,
    check_instances: bool = True,
) -> None:
    """Nova's is_safe_to_update_az: no empty zone name, no host in two zones, and (for
    updates) no host with servers moved to another zone."""
    if not zone:
        raise InvalidAggregateAction(
            what,
            aggregate.row.id,
            f"Aggregate {aggregate.row.name} does not support empty named availability zone",
            code=code,
        )
    targets = aggregate.hosts if hosts is None else hosts
    conflicting = sorted(
        {
            z
            for host in targets
            for z in await _zone_of_host_elsewhere(session, host, aggregate.row.id)
        }
        - {zone}
    )
    if conflicting:
        raise InvalidAggregateAction(
            what,
            aggregate.row.id,
            f"One or more hosts already in availability zone(s) {conflicting}",
            code=code,
        )
    if (
        check_instances
        and aggregate.availability_zone != zone
        and await _instances_on(session, targets)
    ):
        raise InvalidAggregateAction(
            what, aggregate.row.id, "One or more hosts contain instances in this zone", code=code
        )


async def create(session: AsyncSession, name: str, zone: str | None) -> Details:
    if await session.scalar(select(Aggregate.id).where(Aggregate.name == name)) is not None:
        raise Conflict(f"Aggregate {name} already exists.")
    row = Aggregate(name=name)
    await add_unique(session, row, f"Aggregate {name} already exists.")
    if zone:
        session.add(AggregateMetadata(aggregate_id=row.id, key=AZ_KEY, value=zone))
        await session.flush()
    return Details(row, [], {AZ_KEY: zone} if zone else {})


async def update(
    session: AsyncSession, aggregate: Details, changes: Mapping[str, str | None]
) -> None:
    """Rename and/or move to another zone (`changes` holds what the body named)."""
    if "name" in changes and changes["name"] != aggregate.row.name:
        name = changes["name"]
        taken = await session.scalar(select(Aggregate.id).where(Aggregate.name == name))
        if taken is not None:
            raise Conflict(f"Aggregate {name} already exists.")
        aggregate.row.name = name or aggregate.row.name
    if AZ_KEY in changes:
        await _check_zone_change(session, aggregate, changes[AZ_KEY], "update")
        await _write_metadata(session, aggregate, {AZ_KEY: changes[AZ_KEY]})
    aggregate.row.updated_at = utcnow()
    await session.flush()


async def set_metadata(
    session: AsyncSession, aggregate: Details, metadata: Mapping[str, str | None]
) -> None:
    """Merge `metadata` into the aggregate's; a null value deletes its key."""
    if AZ_KEY in metadata:
        await _check_zone_change(session, aggregate, metadata[AZ_KEY], "update metadata of")
    await _write_metadata(session, aggregate, metadata)
    aggregate.row.updated_at = utcnow()
    await session.flush()


async def _write_metadata(
    session: AsyncSession, aggregate: Details, metadata: Mapping[str, str | None]
) -> None:
    for key, value in metadata.items():
        row = await session.get(AggregateMetadata, (aggregate.row.id, key))
        if value is None:
            if row is not None:
                await session.delete(row)
            aggregate.metadata.pop(key, None)
            continue
        if row is None:
            session.add(AggregateMetadata(aggregate_id=aggregate.row.id, key=key, value=value))
        else:
            row.value = value
        aggregate.metadata[key] = value


async def delete_aggregate(session: AsyncSession, aggregate: Details) -> None:
    if aggregate.hosts:
        raise InvalidAggregateAction(
            "remove host from", aggregate.row.id, "Host aggregate is not empty"
        )
    await session.execute(
        delete(AggregateMetadata).where(AggregateMetadata.aggregate_id == aggregate.row.id)
    )
    await session.delete(aggregate.row)


async def compute_service(session: AsyncSession, host: str) -> Service:
    """The nova-compute service of `host` (404 when there is none)."""
    row = await session.scalar(
        select(Service).where(Service.host == host, Service.binary == COMPUTE)
    )
    if row is None:
        raise ComputeHostNotFound(host)
    return row


async def _refuse_moving_servers(
    session: AsyncSession, host: str, aggregate: Details, *, joining: bool
) -> None:
    """A host with servers may not change zone by joining or leaving `aggregate`."""
    if not aggregate.availability_zone:
        return
    count = await _instances_on(session, [host])
    elsewhere = await _zone_of_host_elsewhere(session, host, aggregate.row.id)
    outside = min(elsewhere) if elsewhere else None
    zone = aggregate.availability_zone
    before, after = (outside, zone) if joining else (zone, outside)
    if count and before != after:
        raise InvalidAggregateAction(
            "add host to" if joining else "remove host from",
            aggregate.row.id,
            f"The host cannot be {'added to' if joining else 'removed from'} the aggregate as "
            f"the availability zone of the host would change from '{before}' to '{after}' but "
            f"the host already has {count} instance(s). Changing the AZ of an existing "
            "instance is not supported by this action. Move the instances away from this "
            "host then try again. If you need to move the instances between AZs then you "
            "can use shelve_offload and unshelve to achieve this",
            code=409,
        )


async def add_host(session: AsyncSession, aggregate: Details, host: str) -> None:
    await compute_service(session, host)
    if host in aggregate.hosts:
        raise Conflict(f"Aggregate {aggregate.row.id} already has host {host}.")
    if aggregate.availability_zone:
        await _check_zone_change(
            session,
            aggregate,
            aggregate.availability_zone,
            "add host to",
            hosts=[host],
            code=409,
            check_instances=False,
        )
    await _refuse_moving_servers(session, host, aggregate, joining=True)
    session.add(AggregateHost(aggregate_id=aggregate.row.id, host=host))
    await session.flush()
    aggregate.hosts = sorted([*aggregate.hosts, host])


async def remove_host(session: AsyncSession, aggregate: Details, host: str) -> None:
    missing = NotFound(f"Cannot remove host {host} in aggregate {aggregate.row.id}")
    try:
        await compute_service(session, host)
    except ComputeHostNotFound:
        raise missing from None
    if host not in aggregate.hosts:
        raise missing
    await _refuse_moving_servers(session, host, aggregate, joining=False)
    await session.execute(
        delete(AggregateHost).where(
            AggregateHost.aggregate_id == aggregate.row.id, AggregateHost.host == host
        )
    )
    aggregate.hosts = [h for h in aggregate.hosts if h != host]


async def remove_host_everywhere(session: AsyncSession, host: str) -> None:
    """Take a host out of every aggregate (its service is being deleted)."""
    await session.execute(delete(AggregateHost).where(AggregateHost.host == host))
