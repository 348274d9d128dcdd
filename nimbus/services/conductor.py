"""The conductor: orchestrates builds, resizes and rebuilds, and writes instance rows
for the compute agents (they never touch the database's instance tables themselves).

A build: ask the scheduler for a host per instance (it claims in Placement), record
the host on the instance, cast the build to that host's agent. If the agent fails, it
comes back here: the next alternate's proposed claim replaces the failed one (in one
Placement write) and the build goes there, up to ``max_attempts`` hosts in all. When
no host is left the instance goes to ERROR with a "No valid host was found" fault and
its claims are released.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from nimbus.compute import (
    events,
    faults,
    hosts,
    instances,
    migrations,
    moves,
    request_spec,
    shelve,
    states,
)
from nimbus.compute.actions import Caller
from nimbus.compute.events import Event
from nimbus.compute.placement_client import MIGRATION, Allocations, Move, Owner
from nimbus.db.models.cell import Instance
from nimbus.placement import work
from nimbus.rpc import RemoteError
from nimbus.services.base import Service

LOG = logging.getLogger(__name__)

SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
MIGRATE_EVENT = "conductor_migrate_server"
#: Instance columns the agents may set through `instance_update`.
_WRITABLE = frozenset(
    {
        "vm_state",
        "task_state",
        "power_state",
        "host",
        "node",
        "launched_on",
        "image_ref",
        "progress",
        "flavor",
        "system_metadata",
        "vcpus",
        "memory_mb",
        "root_gb",
        "ephemeral_gb",
        "instance_type_id",
    }
)


def _no_host_left(uuid: str) -> str:
    return (
        "No valid host was found. Exceeded maximum number of retries. Exhausted all "
        f"hosts available for retrying build failures for instance {uuid}."
    )


def _migration_type(instance: Instance) -> str:
    """A resize, or a cold migration (a "resize" to the same flavor)."""
    flavors = instance.flavor or {}
    old, new = flavors.get("current") or {}, flavors.get("new") or {}
    return migrations.COLD if old.get("flavorid") == new.get("flavorid") else migrations.RESIZE


def _move(migration: str, instance: Instance, destination: dict[str, Any]) -> migrations.Move:
    """The record of a resize or cold migration about to start."""
    flavors = instance.flavor or {}
    old, new = flavors.get("current") or {}, flavors.get("new") or {}
    return migrations.Move(
        uuid=migration,
        instance=instance,
        migration_type=_migration_type(instance),
        dest_compute=destination["host"],
        dest_node=destination["node"],
        old_flavor_id=old.get("id"),
        new_flavor_id=new.get("id"),
    )


class ConductorService(Service):
    binary = hosts.CONDUCTOR
    topic = "conductor"

    # --- the agents' own rows ---------------------------------------------------------

    async def register_compute(self, host: str, node: dict[str, Any]) -> dict[str, Any]:
        """Register an agent's service and compute node; their ids for its heartbeats."""
        async with self._db.transaction() as session:
            service_id = await hosts.register_service(session, host, hosts.COMPUTE, "compute")
            node_uuid = await hosts.register_node(session, service_id, hosts.NodeSpec(**node))
        return {"service_id": service_id, "node_uuid": node_uuid}

    async def service_heartbeat(self, service_id: int) -> None:
        await work.write(self._db, lambda connection: hosts.heartbeat_in(connection, service_id))

    async def node_usage(self, node_uuid: str, usage: dict[str, int]) -> None:
        await work.write(
            self._db, lambda connection: hosts.record_usage_in(connection, node_uuid, **usage)
        )

    async def instances_on_host(self, host: str) -> list[dict[str, Any]]:
        async with self._db.reader() as session:
            rows = await session.scalars(
                select(Instance).where(Instance.host == host, Instance.deleted == 0)
            )
            return [instances.record(row) for row in rows.all()]

    # --- instance rows on behalf of the agents ----------------------------------------

    async def instance_update(
        self,
        uuid: str,
        values: dict[str, Any],
        caller: Caller | None = None,
        event: Event | None = None,
        vm_states: list[str] | None = None,
        task_states: list[str | None] | None = None,
        launched: bool = False,
        fault: str | None = None,
    ) -> bool:
        """Apply an agent's change if the instance is still in the expected states;
        record its event (and a fault, for a failed action). False when the instance
        moved on (deleted, say)."""
        changes = {k: v for k, v in values.items() if k in _WRITABLE}
        if launched:
            changes["launched_at"] = datetime.now().astimezone()

        def update(connection: Connection) -> bool:
            changed = instances.transition_in(
                connection,
                uuid,
                changes,
                vm_states=vm_states,
                task_states=instances.ANY if task_states is None else task_states,
            )
            if caller and event:
                events.save_in(connection, uuid, caller, event)
            if fault:
                faults.add_in(connection, uuid, fault, host=event["host"] if event else None)
            if changed or fault:
                migrations.progress_in(connection, uuid, changes, failed=bool(fault))
            return changed

        return await work.write(self._db, update)

    async def instance_destroyed(self, uuid: str, caller: Caller, event: Event) -> None:
        """The agent removed the guest: the row is soft-deleted and its claims freed."""

        def destroy(connection: Connection) -> str | None:
            instance = instances.row_in(connection, uuid)
            if instance is None:
                raise instances.InstanceNotFound(uuid)
            events.save_in(connection, uuid, caller, event)
            instances.destroy_in(connection, uuid)
            return (instance.system_metadata or {}).get("migration_uuid")

        migration = await work.write(self._db, destroy)
        await self._placement.release(uuid)
        if migration:
            await self._placement.release(migration)

    @property
    def _placement(self):  # type: ignore[no-untyped-def]
        return self._deps.placement

    async def _schedule(self, spec: Any, uuids: list[str], **options: Any) -> Any:
        """The scheduler's destinations (RemoteError "NoValidHost" when there are none)."""
        return await self._bus.call(
            "scheduler",
            "select_destinations",
            timeout=self._options.rpc_timeout,
            spec=dict(spec),
            instance_uuids=uuids,
            **options,
        )

    # --- builds -------------------------------------------------------------------------

    async def build_instances(
        self, instance_uuids: list[str], caller: Caller, spec: dict[str, Any] | None = None
    ) -> None:
        """Schedule the instances of one boot request and cast each build to its host.

        The API sends the request spec along (as Nova does), sparing a read per boot;
        without it, the stored one is used."""
        event = events.begin(SCHEDULE_EVENT, None)
        if spec is None:
            async with self._db.reader() as session:
                spec = dict(await request_spec.load(session, instance_uuids[0]))
        try:
            chosen = await self._schedule(spec, instance_uuids)
        except RemoteError as error:
            message = error.message if error.exc_type == "NoValidHost" else str(error)
            for uuid in instance_uuids:
                await self._fail(uuid, caller, events.failed(event, message), message)
            return
        for uuid, destination in zip(instance_uuids, chosen, strict=True):
            await self._dispatch(uuid, destination, caller, event, attempt=1)

    async def _dispatch(
        self,
        uuid: str,
        destination: dict[str, Any],
        caller: Caller,
        event: Event | None,
        attempt: int,
    ) -> None:
        """Record the chosen host on the instance and cast the build there."""
        host = destination["host"]

        def place(connection: Connection) -> dict[str, Any] | None:
            """The instance's record with the host, if it is still building."""
            instance = instances.row_in(connection, uuid)
            if instance is None:
                return None
            placement = {
                "host": host,
                "node": destination["node"],
                "launched_on": host,
                "task_state": states.SPAWNING,
                "availability_zone": instance.availability_zone or destination["zone"],
            }
            if not instances.transition_in(
                connection, uuid, placement, vm_states=[states.BUILDING]
            ):
                return None
            if event is not None:
                events.save_in(connection, uuid, caller, event)
            return {**instances.record(instance), **placement}

        record = await work.write(self._db, place)
        if record is None:
            # Deleted while it was being scheduled: nothing will run, free the claim.
            await self._placement.release(uuid)
            return
        await self._bus.cast(
            "compute",
            "build_and_run_instance",
            server=host,
            instance=record,
            caller=caller,
            attempt=attempt,
            alternates=destination.get("alternates", []),
        )

    async def build_failed(
        self,
        instance_uuid: str,
        caller: Caller,
        event: Event,
        attempt: int,
        alternates: list[dict[str, Any]],
        abort: bool = False,
    ) -> None:
        """An agent could not build: try the next alternate, or give up (ERROR). An
        aborted build (no host could do better, e.g. an image that is not a disk) goes
        to ERROR at once with the agent's reason, as Nova's BuildAbortException does."""
        async with self._db.transaction() as session:
            await events.save(session, instance_uuid, caller, event)
            row = (
                await session.execute(
                    select(Instance.project_id, Instance.user_id).where(
                        Instance.uuid == instance_uuid
                    )
                )
            ).first()
        if row is None:
            return
        if abort:
            message = f"Build of instance {instance_uuid} aborted: {event.get('details')}"
            await self._fail(instance_uuid, caller, None, message, details=event.get("details"))
            return
        remaining = list(alternates)
        while attempt < self._options.max_attempts and remaining:
            alternate = remaining.pop(0)
            claimed = await self._placement.claim(
                instance_uuid, alternate["allocations"], Owner(row[0], row[1])
            )
            if claimed:
                LOG.info("rescheduling %s to %s", instance_uuid, alternate["host"])
                await self._dispatch(
                    instance_uuid, {**alternate, "alternates": remaining}, caller, None, attempt + 1
                )
                return
        message = _no_host_left(instance_uuid)
        await self._fail(instance_uuid, caller, None, message, details=event.get("details"))

    async def _fail(
        self,
        uuid: str,
        caller: Caller,
        event: Event | None,
        message: str,
        details: str | None = None,
    ) -> None:
        """ERROR with a fault, claims released (the build will not run anywhere)."""

        def fail(connection: Connection) -> None:
            failed = instances.transition_in(
                connection, uuid, {"vm_state": states.ERROR, "task_state": None}
            )
            if failed:
                faults.add_in(connection, uuid, message, details=details or message)
            if event is not None:
                events.save_in(connection, uuid, caller, event)

        await work.write(self._db, fail)
        await self._placement.release(uuid)

    # --- resize -------------------------------------------------------------------------

    async def resize_instance(self, uuid: str, caller: Caller, host: str | None = None) -> None:
        """Find a host for the new flavor, move the claims, cast to the source host.
        A cold migration (the same flavor; `host` if an admin named one) never stays
        on its host, as Nova's (allow_resize_to_same_host is for resizes)."""
        event = events.begin(MIGRATE_EVENT, None)
        async with self._db.reader() as session:
            instance = await instances.get(session, uuid)
            spec = await request_spec.load(session, uuid)
        flavor = instance.flavor or {}
        spec["flavor"] = flavor["new"]
        if host:
            spec["force_host"] = host
        cold = _migration_type(instance) == migrations.COLD
        same_host = self._options.allow_resize_to_same_host and not cold
        exclude = [] if same_host else [instance.host]
        try:
            chosen = await self._schedule(spec, [uuid], exclude_hosts=exclude, claim=False)
        except RemoteError as error:
            await self._resize_refused(uuid, caller, events.failed(event, error.message))
            return
        migration = str(uuidlib.uuid4())
        held = await self._placement.allocations_of(uuid)
        owner = Owner(instance.project_id, instance.user_id)
        destination = await self._claim_move(uuid, migration, held, owner, chosen[0])
        if destination is None:
            await self._resize_refused(
                uuid, caller, events.failed(event, "No valid host was found.")
            )
            return
        system_metadata = {
            **(instance.system_metadata or {}),
            "migration_uuid": migration,
            "old_vm_state": instance.vm_state,
            "source_host": instance.host,
            "source_node": instance.node,
        }
        async with self._db.transaction() as session:
            moved = await instances.transition(
                session,
                uuid,
                {"task_state": states.RESIZE_MIGRATING, "system_metadata": system_metadata},
                task_states=[states.RESIZE_PREP],
            )
            await events.save(session, uuid, caller, event)
            if moved:
                current = await instances.get(session, uuid)
                record = instances.record(current)
                await migrations.start(session, _move(migration, instance, destination))
                # No shared instance storage: the disk goes to another host as an image.
                image_id = (
                    await moves.migration_image(session, current, migration, caller)
                    if destination["host"] != instance.host
                    else None
                )
        if not moved:
            await self._undo_move(uuid, migration, held, owner)
            return
        await self._bus.cast(
            "compute",
            "resize_instance",
            server=instance.host,
            instance=record,
            destination={k: destination[k] for k in ("host", "node")},
            caller=caller,
            image_id=image_id,
        )

    async def _claim_move(
        self, uuid: str, migration: str, held: Allocations, owner: Owner, chosen: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The migration takes over what the instance held; the instance claims the new
        flavor on the destination; both in one Placement write (the first of the
        destination and its alternates where that fits)."""
        as_migration = Owner(owner.project_id, owner.user_id, MIGRATION)
        for destination in [chosen, *chosen.get("alternates", [])]:
            move = Move(
                [(migration, held, as_migration), (uuid, destination["allocations"], owner)]
            )
            if await self._placement.move(move):
                return destination
        return None

    async def _undo_move(self, uuid: str, migration: str, held: Allocations, owner: Owner) -> None:
        await self._placement.move(
            Move(
                [
                    (uuid, held, owner),
                    (migration, {}, Owner(owner.project_id, owner.user_id, MIGRATION)),
                ]
            )
        )

    async def _resize_refused(self, uuid: str, caller: Caller, event: Event) -> None:
        """No host for the new flavor: the server stays as it was (task cleared)."""
        async with self._db.transaction() as session:
            instance = await instances.get(session, uuid)
            flavor = {"current": (instance.flavor or {}).get("current")}
            await instances.transition(
                session,
                uuid,
                {"task_state": None, "flavor": flavor},
                task_states=[states.RESIZE_PREP],
            )
            faults.add(session, uuid, event["details"] or "No valid host was found.", code=400)
            await events.save(session, uuid, caller, event)

    async def _finish_resize(
        self, uuid: str, caller: Caller, event: Event, *, reverted: bool
    ) -> None:
        """Settle a confirmed or reverted resize: the migration's bookkeeping leaves the
        instance, which takes back its old vm_state and keeps one flavor — the new one
        (confirmed; the migration's claim on the source is freed) or the old one with
        the source host (reverted; the migration's claim moves back to the instance)."""
        async with self._db.reader() as session:
            instance = await instances.get(session, uuid)
        meta = dict(instance.system_metadata or {})
        migration = meta.pop("migration_uuid", None)
        old_vm_state = meta.pop("old_vm_state", states.ACTIVE)
        host = meta.pop("source_host", instance.host)
        node = meta.pop("source_node", instance.node)
        flavors = instance.flavor or {}
        values: dict[str, Any] = {
            "vm_state": old_vm_state,
            "task_state": None,
            "system_metadata": meta,
            "flavor": {"current": flavors.get("current")},
        }
        if reverted:
            old = flavors.get("old") or flavors.get("current")
            running = old_vm_state == states.ACTIVE
            values.update(
                host=host,
                node=node,
                power_state=states.RUNNING if running else states.SHUTDOWN,
                flavor={"current": old},
                **instances.size_columns(old),
            )
            if migration:
                held = await self._placement.allocations_of(migration)
                owner = Owner(instance.project_id, instance.user_id)
                await self._undo_move(uuid, migration, held, owner)
        async with self._db.transaction() as session:
            await instances.transition(session, uuid, values, vm_states=[states.RESIZED])
            await events.save(session, uuid, caller, event)
            await migrations.set_status(session, uuid, "reverted" if reverted else "confirmed")
        if migration and not reverted:
            await self._placement.release(migration)

    async def resize_confirmed(self, uuid: str, caller: Caller, event: Event) -> None:
        """The source dropped the old guest."""
        await self._finish_resize(uuid, caller, event, reverted=False)

    async def resize_reverted(self, uuid: str, caller: Caller, event: Event) -> None:
        """The source runs the old guest again."""
        await self._finish_resize(uuid, caller, event, reverted=True)

    # --- rebuild ------------------------------------------------------------------------

    async def rebuild_instance(
        self, uuid: str, caller: Caller, admin_password: str | None = None
    ) -> None:
        """Rebuild in place: the instance keeps its host and claims."""
        async with self._db.reader() as session:
            instance = await instances.get(session, uuid)
            record = instances.record(instance)
        await self._bus.cast(
            "compute",
            "rebuild_instance",
            server=instance.host,
            instance=record,
            caller=caller,
            admin_password=admin_password,
        )

    # --- evacuate (nimbus.compute.moves) -------------------------------------------------

    async def evacuate_instance(
        self,
        uuid: str,
        caller: Caller,
        host: str | None = None,
        admin_password: str | None = None,
        stop: bool = False,
    ) -> None:
        """Rebuild the server of a dead host elsewhere: the scheduler's claim on the new
        host replaces the old one; no host: ERROR, as Nova's rebuild_server."""
        event = events.begin("conductor_rebuild_server", None)
        async with self._db.reader() as session:
            instance = await instances.get(session, uuid)
            spec = dict(await request_spec.load(session, uuid))
        if host:
            spec["force_host"] = host
        try:
            (chosen,) = await self._schedule(spec, [uuid], exclude_hosts=[instance.host])
        except RemoteError as error:
            # ERROR with a fault; its claims stay on the dead host it still belongs to
            async with self._db.transaction() as session:
                values = {"vm_state": states.ERROR, "task_state": None}
                await instances.transition(session, uuid, values, task_states=[states.REBUILDING])
                faults.add(session, uuid, error.message, code=400)
                await events.save(session, uuid, caller, events.failed(event, error.message))
            return
        move = migrations.Move(
            uuid=str(uuidlib.uuid4()),
            instance=instance,
            migration_type=migrations.EVACUATION,
            dest_compute=chosen["host"],
            dest_node=chosen["node"],
            old_flavor_id=instances.current_flavor(instance).get("id"),
            new_flavor_id=instances.current_flavor(instance).get("id"),
            status="accepted",
        )
        placement = {"host": chosen["host"], "node": chosen["node"]}
        async with self._db.transaction() as session:
            placed = await instances.transition(
                session, uuid, placement, task_states=[states.REBUILDING]
            )
            await events.save(session, uuid, caller, event)
            if placed:
                await migrations.start(session, move)
                record = instances.record(await instances.get(session, uuid))
        if not placed:
            return
        if stop:
            record["vm_state"] = states.STOPPED
        await self._bus.cast(
            "compute",
            "rebuild_instance",
            server=chosen["host"],
            instance=record,
            caller=caller,
            admin_password=admin_password,
        )

    # --- shelve (nimbus.compute.shelve) -------------------------------------------------

    async def instance_offloaded(
        self, uuid: str, caller: Caller, event: Event, system_metadata: dict[str, Any]
    ) -> None:
        """The agent destroyed a shelved guest: no host any more, claims freed."""
        values = {
            "vm_state": states.SHELVED_OFFLOADED,
            "task_state": None,
            "power_state": states.NOSTATE,
            "host": None,
            "node": None,
            "system_metadata": system_metadata,
        }
        async with self._db.transaction() as session:
            await instances.transition(
                session, uuid, values, task_states=[states.SHELVING, states.SHELVING_OFFLOADING]
            )
            await events.save(session, uuid, caller, event)
        await self._placement.release(uuid)

    async def unshelve_instance(self, uuid: str, caller: Caller, host: str | None = None) -> None:
        """Schedule an offloaded server again (claims included) and cast the boot from
        its snapshot there; with no host it stays offloaded, with a fault."""
        event = events.begin("conductor_unshelve_instance", None)
        async with self._db.reader() as session:
            instance = await instances.get(session, uuid)
            spec = shelve.unshelve_spec(await request_spec.load(session, uuid), instance, host)
        try:
            (chosen,) = await self._schedule(spec, [uuid])
        except RemoteError as error:
            async with self._db.transaction() as session:
                await instances.transition(
                    session, uuid, {"task_state": None}, task_states=[states.UNSHELVING]
                )
                faults.add(session, uuid, error.message, code=400)
                await events.save(session, uuid, caller, events.failed(event, error.message))
            return
        placement = {
            "host": chosen["host"],
            "node": chosen["node"],
            "availability_zone": instance.availability_zone or chosen["zone"],
        }
        async with self._db.transaction() as session:
            placed = await instances.transition(
                session, uuid, placement, task_states=[states.UNSHELVING]
            )
            await events.save(session, uuid, caller, event)
            if placed:
                record = instances.record(await instances.get(session, uuid))
        if not placed:
            await self._placement.release(uuid)
            return
        await self._bus.cast(
            "compute", "unshelve_instance", server=chosen["host"], instance=record, caller=caller
        )
