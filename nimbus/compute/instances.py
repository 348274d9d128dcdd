"""Instances: lookup, the flavor they carry, state checks and guarded state changes.

Every state change is a conditional UPDATE that names the states it expects (Nova's
``instance.save(expected_task_state=…)``), so two requests racing on one server (a
reboot and a delete, say) cannot both win: the loser matches no row and learns the
state that beat it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Update, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import states
from nimbus.db.base import utcnow
from nimbus.db.models.cell import Instance
from nimbus.db.models.compute import (
    InstanceMapping,
    ServerGroupMember,
)
from nimbus.errors import Conflict, NotFound

#: Marks "any task state" for `transition` (None is itself a task state).
ANY: Any = object()


class InstanceInvalidState(Conflict):
    """An action was asked in a state that does not allow it (the API's 409)."""

    def __init__(self, action: str, uuid: str, attr: str, state: Any) -> None:
        super().__init__(f"Cannot '{action}' instance {uuid} while it is in {attr} {state}")


class InstanceNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"Instance {uuid} could not be found.")


def flavor_record(flavor: Any, extra_specs: dict[str, str]) -> dict[str, Any]:
    """The flavor as an instance keeps it: later edits to the flavor change nothing."""
    return {
        "id": flavor.id,
        "flavorid": flavor.flavorid,
        "name": flavor.name,
        "vcpus": flavor.vcpus,
        "memory_mb": flavor.memory_mb,
        "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "rxtx_factor": flavor.rxtx_factor,
        "is_public": flavor.is_public,
        "description": flavor.description,
        "extra_specs": dict(extra_specs),
    }


def resources_of(flavor: dict[str, Any]) -> dict[str, int]:
    """What a flavor claims in Placement (Nova's resources_from_flavor, without the
    extra-spec overrides): swap counts as disk, in whole GiB."""
    disk = flavor["root_gb"] + flavor["ephemeral_gb"] + -(-flavor["swap"] // 1024)
    return {"VCPU": flavor["vcpus"], "MEMORY_MB": flavor["memory_mb"], "DISK_GB": disk}


def size_columns(flavor: dict[str, Any]) -> dict[str, Any]:
    """The instance columns that mirror its current flavor (quota usage reads them)."""
    return {
        "vcpus": flavor["vcpus"],
        "memory_mb": flavor["memory_mb"],
        "root_gb": flavor["root_gb"],
        "ephemeral_gb": flavor["ephemeral_gb"],
        "instance_type_id": flavor.get("id"),
    }


def current_flavor(instance: Instance) -> dict[str, Any]:
    return (instance.flavor or {}).get("current") or {}


def record(instance: Instance) -> dict[str, Any]:
    """The instance as the daemons pass it over the bus (JSON, not a row)."""
    return {
        "uuid": instance.uuid,
        "display_name": instance.display_name,
        "project_id": instance.project_id,
        "user_id": instance.user_id,
        "host": instance.host,
        "node": instance.node,
        "vm_state": instance.vm_state,
        "task_state": instance.task_state,
        "power_state": instance.power_state,
        "flavor": instance.flavor or {},
        "image_ref": instance.image_ref,
        "key_name": instance.key_name,
        "key_data": instance.key_data,
        "user_data": instance.user_data,
        "hostname": instance.hostname,
        "launch_index": instance.launch_index,
        "config_drive": instance.config_drive,
        "availability_zone": instance.availability_zone,
        "system_metadata": instance.system_metadata or {},
    }


async def get(
    session: AsyncSession, uuid: str, *, project_id: str | None = None, deleted: bool = False
) -> Instance:
    """The instance, if it exists (and belongs to `project_id` when given); deleted
    ones only when asked for."""
    query = select(Instance).where(Instance.uuid == uuid)
    if not deleted:
        query = query.where(Instance.deleted == 0)
    if project_id is not None:
        query = query.where(Instance.project_id == project_id)
    row = await session.scalar(query)
    if row is None:
        raise InstanceNotFound(uuid)
    return row


def check_state(
    instance: Instance,
    action: str,
    vm_states: Collection[str] | None = None,
    task_states: Collection[str | None] | None = (None,),
    *,
    must_have_launched: bool = True,
) -> None:
    """Nova's check_instance_state: the vm_state, then the task_state, then that the
    instance ever ran; the first that does not fit is the 409's reason."""
    if vm_states is not None and instance.vm_state not in vm_states:
        raise InstanceInvalidState(action, instance.uuid, "vm_state", instance.vm_state)
    if task_states is not None and instance.task_state not in task_states:
        raise InstanceInvalidState(action, instance.uuid, "task_state", instance.task_state)
    if must_have_launched and instance.launched_at is None:
        raise InstanceInvalidState(action, instance.uuid, "launched_at", None)


def _task_condition(expected: Iterable[str | None]) -> ColumnElement[bool]:
    wanted = list(expected)
    named = [t for t in wanted if t is not None]
    parts: list[ColumnElement[bool]] = []
    if named:
        parts.append(Instance.task_state.in_(named))
    if None in wanted:
        parts.append(Instance.task_state.is_(None))
    return or_(*parts)


def _transition(
    uuid: str, values: dict[str, Any], vm_states: Collection[str] | None, task_states: Any
) -> Update:
    conditions = [Instance.uuid == uuid, Instance.deleted == 0]
    if vm_states is not None:
        conditions.append(Instance.vm_state.in_(list(vm_states)))
    if task_states is not ANY:
        conditions.append(_task_condition(task_states))
    return (
        update(Instance)
        .where(and_(*conditions))
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def transition(
    session: AsyncSession,
    uuid: str,
    values: dict[str, Any],
    *,
    vm_states: Collection[str] | None = None,
    task_states: Any = ANY,
) -> bool:
    """Apply `values` if the live instance is in one of `vm_states` and `task_states`
    (either unchecked when not given); False when it was not (or is gone)."""
    result = await session.execute(_transition(uuid, values, vm_states, task_states))
    return result.rowcount == 1


def transition_in(
    connection: Connection,
    uuid: str,
    values: dict[str, Any],
    *,
    vm_states: Collection[str] | None = None,
    task_states: Any = ANY,
) -> bool:
    """`transition` as part of a unit of work (nimbus.placement.work)."""
    return connection.execute(_transition(uuid, values, vm_states, task_states)).rowcount == 1


def row_in(connection: Connection, uuid: str) -> Any:
    """The instance's row (every column, deleted or not), or None."""
    return connection.execute(
        select(*Instance.__table__.columns).where(Instance.uuid == uuid)
    ).first()


async def start_task(
    session: AsyncSession,
    instance: Instance,
    action: str,
    task_state: str | None,
    vm_states: Collection[str] | None,
    task_states: Collection[str | None] | None = (None,),
    *,
    must_have_launched: bool = True,
    **values: Any,
) -> None:
    """Check the state, then move to `task_state` unless another request moved first."""
    check_state(instance, action, vm_states, task_states, must_have_launched=must_have_launched)
    changed = await transition(
        session,
        instance.uuid,
        {"task_state": task_state, **values},
        vm_states=vm_states,
        task_states=ANY if task_states is None else task_states,
    )
    if not changed:
        await session.refresh(instance)
        check_state(instance, action, vm_states, task_states, must_have_launched=False)
        raise InstanceInvalidState(action, instance.uuid, "task_state", instance.task_state)
    instance.task_state = task_state
    for name, value in values.items():
        setattr(instance, name, value)


def destroy_in(connection: Connection, uuid: str) -> None:
    """Everything a deleted server leaves: the row soft-deleted (it stays for
    `deleted=True` and changes-since listings), its group membership gone, its mapping
    queued for delete (its claims are freed by the caller, after the commit)."""
    connection.execute(_soft_delete(uuid))
    connection.execute(delete(ServerGroupMember).where(ServerGroupMember.instance_uuid == uuid))
    connection.execute(
        update(InstanceMapping)
        .where(InstanceMapping.instance_uuid == uuid)
        .values(queued_for_delete=True)
    )


def _soft_delete(uuid: str) -> Update:
    now = utcnow()
    return (
        update(Instance)
        .where(Instance.uuid == uuid, Instance.deleted == 0)
        .values(
            vm_state=states.DELETED,
            task_state=None,
            power_state=states.NOSTATE,
            deleted=Instance.id,
            deleted_at=now,
            terminated_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
