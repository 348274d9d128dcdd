"""The compute agent: one per host, drives that host's hypervisor through a driver.

It registers its service and compute node (through the conductor), reports the node's
inventory to Placement (the provider's uuid is the node's), beats, and runs what is
cast to ``compute.<host>``: builds, power actions, resize halves, snapshots, deletes.
It never writes instance rows: every change goes back to the conductor, which applies
it only if the instance is still in the state the change expects.

Work on one instance is serialised by a per-instance lock (a delete waits for the build
it races with), while different instances proceed concurrently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from nimbus.compute import backups, events, hosts, instances, networking, shelve, states
from nimbus.compute.actions import Caller
from nimbus.compute.events import Event
from nimbus.compute.placement_client import Inventory
from nimbus.db.models.cell import InstanceMetadata
from nimbus.db.models.image import Image
from nimbus.image import upload
from nimbus.services import image_files
from nimbus.services.base import Deps, Service, periodic
from nimbus.virt.driver import Driver, Guest, GuestNotFound, HostResources, ImageUnusable, Nic

LOG = logging.getLogger(__name__)

BUILD_EVENT = "compute__do_build_and_run_instance"
#: Snapshots are capped like uploads (Glance's image_size_cap).
SNAPSHOT_CAP = 1 << 40
#: The fault of a build the periodic check found stuck (Nova logs these words).
BUILD_STUCK = "Instance build timed out. Set to error state."


class BuildTimedOut(Exception):
    """The spawn ran past build_timeout. Not worth another host (a slow image or a hung
    hypervisor would be as slow there), so the build is aborted, not rescheduled."""


@dataclass(frozen=True)
class _PowerAction:
    """A power action: the driver call and the states it leads to."""

    event: str
    operation: str
    vm_state: str
    power_state: int
    #: The task state the API set (the change applies only while it still holds).
    task_states: tuple[str, ...]
    #: Nova puts an instance whose reboot failed into ERROR; other failures keep it.
    error_on_failure: bool = False


_STOP = _PowerAction(
    "compute_stop_instance", "power_off", states.STOPPED, states.SHUTDOWN, (states.POWERING_OFF,)
)
_START = _PowerAction(
    "compute_start_instance", "power_on", states.ACTIVE, states.RUNNING, (states.POWERING_ON,)
)
_PAUSE = _PowerAction(
    "compute_pause_instance", "pause", states.PAUSED, states.POWER_PAUSED, (states.PAUSING,)
)
_UNPAUSE = _PowerAction(
    "compute_unpause_instance", "unpause", states.ACTIVE, states.RUNNING, (states.UNPAUSING,)
)
_SUSPEND = _PowerAction(
    "compute_suspend_instance",
    "suspend",
    states.SUSPENDED,
    states.POWER_SUSPENDED,
    (states.SUSPENDING,),
)
_RESUME = _PowerAction(
    "compute_resume_instance", "resume", states.ACTIVE, states.RUNNING, (states.RESUMING,)
)


class _InstanceLocks:
    """One lock per instance, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: defaultdict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def __call__(self, uuid: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        self._users[uuid] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[uuid] -= 1
            if not self._users[uuid]:
                del self._users[uuid]
                del self._locks[uuid]


class ComputeAgent(Service):
    binary = hosts.COMPUTE
    topic = "compute"

    def __init__(self, deps: Deps, host: str, driver: Driver) -> None:
        super().__init__(deps, host)
        self.driver = driver
        self.node_uuid = ""
        self._node = host
        self._locked = _InstanceLocks()
        #: Instances whose build runs on this agent now.
        self._building: set[str] = set()
        #: When the build check first found each instance of this host in BUILD with no
        #: build running here (monotonic seconds).
        self._stuck_since: dict[str, float] = {}

    def _spacing(self, interval: str) -> float:
        spacing = super()._spacing(interval)
        check = self.driver.guest_check_interval
        if interval == "power_sync_interval" and check is not None:
            return min(spacing, check) if spacing > 0 else check
        return spacing

    # --- start, heartbeat, inventory ------------------------------------------------------

    async def _conductor(self, method: str, **kwargs: Any) -> Any:
        return await self._bus.call(
            "conductor", method, timeout=self._options.rpc_timeout, **kwargs
        )

    async def _register(self) -> None:
        await self.driver.init_host(self.host)
        resources = await self.driver.get_available_resources()
        options = self._options
        node = hosts.NodeSpec(
            host=self.host,
            hypervisor_hostname=self._node,
            hypervisor_type=resources.hypervisor_type,
            hypervisor_version=resources.hypervisor_version,
            vcpus=resources.vcpus,
            memory_mb=resources.memory_mb,
            local_gb=resources.local_gb,
            cpu_info=resources.cpu_info,
            cpu_allocation_ratio=options.cpu_allocation_ratio,
            ram_allocation_ratio=options.ram_allocation_ratio,
            disk_allocation_ratio=options.disk_allocation_ratio,
        )
        registered = await self._conductor("register_compute", host=self.host, node=node.__dict__)
        self._service_id = registered["service_id"]
        self.node_uuid = registered["node_uuid"]
        await self._placement.ensure_provider(self.node_uuid, self._node)
        await self._report_inventory(resources)

    @property
    def _placement(self):  # type: ignore[no-untyped-def]
        return self._deps.placement

    async def _report_inventory(self, resources: HostResources) -> None:
        options = self._options
        await self._placement.set_inventory(
            self.node_uuid,
            {
                "VCPU": Inventory(
                    resources.vcpus,
                    options.reserved_host_cpus,
                    options.cpu_allocation_ratio,
                    resources.vcpus,
                ),
                "MEMORY_MB": Inventory(
                    resources.memory_mb,
                    options.reserved_host_memory_mb,
                    options.ram_allocation_ratio,
                    resources.memory_mb,
                ),
                "DISK_GB": Inventory(
                    resources.local_gb,
                    -(-options.reserved_host_disk_mb // 1024),
                    options.disk_allocation_ratio,
                    resources.local_gb,
                ),
            },
        )

    @periodic("report_interval")
    async def _report_state(self) -> None:
        await self._bus.cast("conductor", "service_heartbeat", service_id=self._service_id)

    @periodic("resource_update_interval")
    async def _update_available_resource(self) -> None:
        """Inventory to Placement if the host changed; usage for the hypervisors API."""
        await self._report_inventory(await self.driver.get_available_resources())
        used = await self._placement.usages(self.node_uuid)
        usage = {
            "vcpus": used.get("VCPU", 0),
            "memory_mb": used.get("MEMORY_MB", 0),
            "local_gb": used.get("DISK_GB", 0),
            "vms": len(await self.driver.list_instances()),
        }
        await self._bus.cast("conductor", "node_usage", node_uuid=self.node_uuid, usage=usage)

    @periodic("power_sync_interval")
    async def _sync_power_states(self) -> None:
        """What the hypervisor says wins: power_state follows it, and an active server
        whose guest shut down is stopped (as Nova's _sync_instance_power_state)."""
        for instance in await self._conductor("instances_on_host", host=self.host):
            if instance["task_state"] is not None:
                continue  # something is in progress; it will set the state itself
            try:
                power = await self.driver.get_info(instance["uuid"])
            except GuestNotFound:
                power = states.NOSTATE
            if power == instance["power_state"]:
                continue
            values: dict[str, Any] = {"power_state": power}
            if instance["vm_state"] == states.ACTIVE and power in (
                states.SHUTDOWN,
                states.CRASHED,
            ):
                values["vm_state"] = states.STOPPED
            await self._conductor(
                "instance_update",
                uuid=instance["uuid"],
                values=values,
                vm_states=[instance["vm_state"]],
                task_states=[None],
            )

    @periodic("image_cache_interval")
    async def _manage_image_cache(self) -> None:
        await self.driver.manage_image_cache()

    @periodic("power_sync_interval")
    async def _reap_deleted_guests(self) -> None:
        """Destroy guests whose instance is gone or lives elsewhere now (deleted while
        this agent was down, say), as Nova's running_deleted_instance_action "reap"."""
        for uuid in await self._unowned(await self.driver.list_instances()):
            async with self._locked(uuid):
                # Asked again under the lock: a resize finishing here may just have
                # moved the instance to this host.
                if uuid in await self._unowned([uuid]):
                    LOG.warning("destroying guest %s on %s: no instance here", uuid, self.host)
                    await self.driver.destroy(uuid)

    @periodic("build_timeout")
    async def _check_instance_build_time(self) -> None:
        """Fail the instances of this host left in BUILD with no build running here
        (the agent restarted mid-build, say), as Nova's _check_instance_build_time.
        Nova times them from created_at; here an instance is failed when two checks one
        build_timeout apart both found it so: a build just cast to this agent, or one
        rescheduled here late in its life, is not taken for a stuck one."""
        now = time.monotonic()
        idle = {
            instance["uuid"]: instance
            for instance in await self._conductor("instances_on_host", host=self.host)
            if instance["vm_state"] == states.BUILDING and instance["uuid"] not in self._building
        }
        self._stuck_since = {uuid: self._stuck_since.get(uuid, now) for uuid in idle}
        for uuid, instance in idle.items():
            if now - self._stuck_since[uuid] >= self._options.build_timeout:
                await self._fail_stuck_build(instance)

    async def _fail_stuck_build(self, instance: dict[str, Any]) -> None:
        """ERROR with Nova's fault; then what the build may have left goes: the guest,
        its ports, its claims (a build that never finished holds nothing, as after a
        failed one)."""
        uuid = instance["uuid"]
        async with self._locked(uuid):
            if uuid in self._building:
                return  # a build arrived meanwhile: it has a deadline of its own
            failed = await self._conductor(
                "instance_update",
                uuid=uuid,
                values={"vm_state": states.ERROR, "task_state": None},
                vm_states=[states.BUILDING],
                fault=BUILD_STUCK,
            )
            if not failed:
                return
            LOG.warning("build of %s on %s timed out: set to ERROR", uuid, self.host)
            await self.driver.destroy(uuid)
            await self._deallocate(instance)
            await self._placement.release(uuid)

    async def _unowned(self, guests: list[str]) -> set[str]:
        """Those of `guests` that no instance of this host owns."""
        if not guests:
            return set()
        known = {i["uuid"] for i in await self._conductor("instances_on_host", host=self.host)}
        return set(guests) - known

    # --- build and delete -----------------------------------------------------------------

    async def _guest(self, instance: dict[str, Any], **extra: Any) -> Guest:
        """The guest an instance describes, with its image's local data and its metadata
        for drivers that boot from them (the fake driver skips the database reads)."""
        if not self.driver.needs_image_data:
            return Guest.of(instance, **extra)
        store = self._deps.image_store
        async with self._db.reader() as session:
            image = await session.get(Image, instance["image_ref"] or "")
            rows = await session.scalars(
                select(InstanceMetadata).where(InstanceMetadata.instance_uuid == instance["uuid"])
            )
            metadata = {row.key: row.value for row in rows}
            if image is not None and store is not None:
                extra |= {
                    "image_path": store.path(image.id),
                    "image_format": image.disk_format,
                    "image_hash": image.os_hash_value,
                    "direct_boot": await image_files.direct_boot(session, store, image),
                }
        return Guest.of(instance, metadata=metadata, **extra)

    async def _networked(self, instance: dict[str, Any], **extra: Any) -> Guest:
        """The guest with a NIC per Neutron port of the server (created or taken over
        now, bound to this host, as Nova's allocate_for_instance). A server that asked
        for networks but has no port (no network to pick, or no network service) keeps
        the hypervisor's own networking; `networks: none` gets no NIC."""
        guest = await self._guest(instance, **extra)
        network = self._deps.network
        if network is None:
            return guest
        vifs = await network.allocate_for_instance(instance, self.host)
        if not vifs:
            return guest
        return dataclasses.replace(guest, nics=tuple(Nic(v.mac, v.tap) for v in vifs))

    async def _deallocate(self, instance: dict[str, Any]) -> None:
        """Ports released: those Nova made deleted, those the user brought unbound."""
        if self._deps.network is not None:
            await self._deps.network.deallocate_for_instance(instance)

    async def build_and_run_instance(
        self,
        instance: dict[str, Any],
        caller: Caller,
        attempt: int = 1,
        alternates: list[dict[str, Any]] | None = None,
    ) -> None:
        """Build the guest, within build_timeout. Marked as building before it waits for
        the instance's lock, so that the build check never takes it for a stuck one."""
        uuid = instance["uuid"]
        self._building.add(uuid)
        try:
            await self._build(instance, caller, attempt, alternates)
        finally:
            self._building.discard(uuid)

    async def _spawn_in_time(self, instance: dict[str, Any]) -> None:
        """Ports and guest, given up (cancelled) after build_timeout seconds: the
        failure path then destroys whatever the spawn had made."""
        limit = self._options.build_timeout
        deadline = asyncio.timeout(limit or None)
        try:
            async with deadline:
                await self.driver.spawn(await self._networked(instance))
        except TimeoutError:
            if not deadline.expired():
                raise  # the driver's own timeout: an ordinary failure
            raise BuildTimedOut(f"Instance build timed out after {limit:g} seconds.") from None

    async def _build(
        self,
        instance: dict[str, Any],
        caller: Caller,
        attempt: int,
        alternates: list[dict[str, Any]] | None,
    ) -> None:
        uuid = instance["uuid"]
        event = events.begin(BUILD_EVENT, self.host)
        async with self._locked(uuid):
            try:
                await self._spawn_in_time(instance)
            except Exception as error:
                LOG.warning("build of %s failed on %s: %s", uuid, self.host, error)
                with suppress(Exception):
                    await self.driver.destroy(uuid)
                with suppress(Exception):
                    await self._deallocate(instance)
                await self._bus.cast(
                    "conductor",
                    "build_failed",
                    instance_uuid=uuid,
                    caller=caller,
                    event=events.failed(event, error),
                    attempt=attempt,
                    alternates=alternates or [],
                    # An image no host can boot, or a build that ran out of time, is not
                    # worth another host (Nova aborts such builds instead of
                    # rescheduling them).
                    abort=isinstance(error, ImageUnusable | BuildTimedOut),
                )
                return
            built = await self._conductor(
                "instance_update",
                uuid=uuid,
                values={
                    "vm_state": states.ACTIVE,
                    "task_state": None,
                    "power_state": states.RUNNING,
                },
                caller=caller,
                event=event,
                vm_states=[states.BUILDING],
                task_states=[states.SPAWNING],
                launched=True,
            )
            if not built:
                # Deleted while it was spawning: the delete already freed its claims.
                await self.driver.destroy(uuid)
                await self._deallocate(instance)

    async def _act(
        self,
        instance: dict[str, Any],
        caller: Caller,
        event_name: str,
        work: Callable[[], Awaitable[object]],
        report: Callable[[Event], Awaitable[object]],
        *,
        error_state: bool = True,
    ) -> bool:
        """The shape of every action: under the instance's lock, `work` (the driver
        calls), then `report` the outcome with its event; a failure instead ends the
        task with a fault (and ERROR where Nova puts the server in ERROR)."""
        uuid = instance["uuid"]
        event = events.begin(event_name, self.host)
        async with self._locked(uuid):
            try:
                await work()
            except Exception as error:
                LOG.warning("%s of %s failed on %s: %s", event_name, uuid, self.host, error)
                values: dict[str, Any] = {"task_state": None}
                if error_state:
                    values["vm_state"] = states.ERROR
                await self._conductor(
                    "instance_update",
                    uuid=uuid,
                    values=values,
                    caller=caller,
                    event=events.failed(event, error),
                    fault=str(error) or type(error).__name__,
                )
                return False
            await report(event)
            return True

    def _settle(
        self,
        instance: dict[str, Any],
        caller: Caller,
        values: dict[str, Any],
        task_states: list[str | None] | None,
        *,
        launched: bool = False,
    ) -> Callable[[Event], Awaitable[object]]:
        """A `report` that asks the conductor to apply `values` while the instance's
        task is still one of `task_states`."""

        def report(event: Event) -> Awaitable[object]:
            return self._conductor(
                "instance_update",
                uuid=instance["uuid"],
                values=values,
                caller=caller,
                event=event,
                task_states=task_states,
                launched=launched,
            )

        return report

    def _conductor_call(
        self, method: str, instance: dict[str, Any], caller: Caller
    ) -> Callable[[Event], Awaitable[object]]:
        """A `report` that hands the outcome to a conductor method of its own."""

        def report(event: Event) -> Awaitable[object]:
            return self._conductor(method, uuid=instance["uuid"], caller=caller, event=event)

        return report

    async def terminate_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        async def work() -> None:
            await self.driver.destroy(instance["uuid"])
            await self._deallocate(instance)

        await self._act(
            instance,
            caller,
            "compute_terminate_instance",
            work,
            self._conductor_call("instance_destroyed", instance, caller),
        )

    # --- interfaces -----------------------------------------------------------------------

    async def attach_interface(self, instance: dict[str, Any], requested: dict[str, Any]) -> str:
        """A new or given port bound here and plugged into the guest (hot-plugged when
        it runs); the port's id. A NIC the guest refuses releases the port again."""
        network = self._deps.network
        if network is None:
            raise RuntimeError(f"compute host {self.host} has no network service")
        async with self._locked(instance["uuid"]):
            vif = await network.attach(
                instance, self.host, networking.Requested(**requested)
            )
            try:
                await self.driver.attach_interface(instance["uuid"], Nic(vif.mac, vif.tap))
            except Exception:
                with suppress(Exception):
                    await network.detach(instance, vif.port_id)
                raise
            return vif.port_id

    async def detach_interface(self, instance: dict[str, Any], port_id: str) -> None:
        """The NIC unplugged (the guest lets go of it first), then the port released."""
        network = self._deps.network
        if network is None:
            raise RuntimeError(f"compute host {self.host} has no network service")
        async with self._locked(instance["uuid"]):
            for vif in await network.vifs(instance["uuid"]):
                if vif.port_id == port_id:
                    await self.driver.detach_interface(instance["uuid"], Nic(vif.mac, vif.tap))
            await network.detach(instance, port_id)

    # --- power actions --------------------------------------------------------------------

    async def _power(self, action: _PowerAction, instance: dict[str, Any], caller: Caller) -> None:
        values = {
            "vm_state": action.vm_state,
            "task_state": None,
            "power_state": action.power_state,
        }
        await self._act(
            instance,
            caller,
            action.event,
            lambda: getattr(self.driver, action.operation)(instance["uuid"]),
            self._settle(instance, caller, values, list(action.task_states)),
            error_state=action.error_on_failure,
        )

    async def stop_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        await self._power(_STOP, instance, caller)

    async def start_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        await self._power(_START, instance, caller)

    async def pause_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        await self._power(_PAUSE, instance, caller)

    async def unpause_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        await self._power(_UNPAUSE, instance, caller)

    async def suspend_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        await self._power(_SUSPEND, instance, caller)

    async def resume_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        await self._power(_RESUME, instance, caller)

    async def reboot_instance(self, instance: dict[str, Any], caller: Caller, hard: bool) -> None:
        await self._act(
            instance,
            caller,
            "compute_reboot_instance",
            lambda: self.driver.reboot(instance["uuid"], hard=hard),
            self._settle(
                instance,
                caller,
                {"vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING},
                [states.REBOOTING, states.REBOOTING_HARD],
            ),
        )

    # --- rebuild, snapshot, console -------------------------------------------------------

    async def rebuild_instance(
        self, instance: dict[str, Any], caller: Caller, admin_password: str | None = None
    ) -> None:
        """A new guest from the (new) image in place of the old one; a stopped server
        is stopped again afterwards, as Nova does."""
        uuid = instance["uuid"]
        stopped = instance["vm_state"] == states.STOPPED

        async def work() -> None:
            await self.driver.destroy(uuid)
            await self.driver.spawn(
                await self._networked(instance, admin_password=admin_password)
            )
            if stopped:
                await self.driver.power_off(uuid)

        values = {
            "vm_state": states.STOPPED if stopped else states.ACTIVE,
            "task_state": None,
            "power_state": states.SHUTDOWN if stopped else states.RUNNING,
        }
        report = self._settle(instance, caller, values, [states.REBUILDING], launched=True)
        await self._act(instance, caller, "compute_rebuild_instance", work, report)

    async def snapshot_instance(
        self, instance: dict[str, Any], caller: Caller, image_id: str
    ) -> None:
        """The guest's disk becomes the data of the queued image `image_id`; a failed
        snapshot leaves no image behind (as Nova deletes it from Glance)."""

        report = self._settle(
            instance,
            caller,
            {"task_state": None},
            [states.IMAGE_SNAPSHOT, states.IMAGE_SNAPSHOT_PENDING],
        )
        await self._act(
            instance,
            caller,
            "compute_snapshot_instance",
            lambda: self._snapshot_into(instance["uuid"], image_id),
            report,
            error_state=False,
        )

    async def _snapshot_into(self, uuid: str, image_id: str) -> None:
        """The guest's disk as the data of `image_id`; the image goes if that fails."""
        try:
            await self._upload_snapshot(uuid, image_id)
        except Exception:
            await self._drop_image(image_id)
            raise

    async def _upload_snapshot(self, uuid: str, image_id: str) -> None:
        store = self._deps.image_store
        if store is None:
            raise RuntimeError("this compute agent has no image store")
        async with self._db.transaction() as session:
            image = await session.get(Image, image_id)
            if image is None:
                raise RuntimeError(f"image {image_id} vanished before the snapshot")
            await upload.begin(session, image)
        with tempfile.TemporaryDirectory(prefix="nimbus-snapshot-") as directory:
            path = Path(directory) / "disk"
            await self.driver.snapshot(uuid, path, image.disk_format or "raw")
            await upload.receive(self._db, store, image, _chunks(path), SNAPSHOT_CAP)

    async def _drop_image(self, image_id: str) -> None:
        with suppress(Exception):
            async with self._db.transaction() as session:
                image = await session.get(Image, image_id)
                if image is not None:
                    await session.delete(image)

    async def get_console_output(self, instance: dict[str, Any], length: int | None = None) -> str:
        output = await self.driver.get_console_output(instance["uuid"])
        if length is None:
            return output
        # Nova's tail: the last `length` pieces between newlines, so a log that ends in
        # a newline gives an empty last piece (Tempest counts the lines this way).
        return "\n".join(output.split("\n")[-length:]) if length else ""

    # --- resize ---------------------------------------------------------------------------

    async def resize_instance(
        self,
        instance: dict[str, Any],
        destination: dict[str, str],
        caller: Caller,
        image_id: str | None = None,
    ) -> None:
        """Source half: stop the guest, keep its disks for a revert, hand the root disk
        over (into the image `image_id` for another host), let the destination finish."""
        moved = await self._act(
            instance,
            caller,
            "compute_resize_instance",
            lambda: self._hand_over(instance["uuid"], destination["host"], image_id),
            self._settle(
                instance,
                caller,
                {"task_state": states.RESIZE_MIGRATED},
                [states.RESIZE_MIGRATING],
            ),
        )
        if moved:
            await self._bus.cast(
                "compute",
                "finish_resize",
                server=destination["host"],
                instance=instance,
                node=destination["node"],
                caller=caller,
                image_id=image_id,
            )

    async def _hand_over(self, uuid: str, dest_host: str, image_id: str | None) -> None:
        """The guest powered off, its root disk uploaded into `image_id` when there is
        one (the destination is another host), its disks kept. The image goes if any
        of it fails: nobody else would delete it."""
        if image_id is None:
            await self.driver.migrate_disk_and_power_off(uuid, dest_host)
            return
        try:
            await self.driver.power_off(uuid)
            await self._upload_snapshot(uuid, image_id)
            await self.driver.migrate_disk_and_power_off(uuid, dest_host)
        except Exception:
            await self._delete_image(image_id)
            raise

    async def finish_resize(
        self, instance: dict[str, Any], node: str, caller: Caller, image_id: str | None = None
    ) -> None:
        """Destination half: the guest with its new flavor, from the disks the source
        kept on this host or from the image `image_id` of its root disk (deleted
        afterwards, built or not: it served this move only); the server waits in
        VERIFY_RESIZE for the user to confirm or revert."""
        flavors = instance["flavor"]
        power_on = instance["system_metadata"].get("old_vm_state") != states.STOPPED
        resized = {**instance, "flavor": {"current": flavors["new"]}}
        values = {
            "vm_state": states.RESIZED,
            "task_state": None,
            "power_state": states.RUNNING if power_on else states.SHUTDOWN,
            "host": self.host,
            "node": node,
            "flavor": {**flavors, "current": flavors["new"]},
            **instances.size_columns(flavors["new"]),
        }

        async def work() -> None:
            if image_id is None:
                await self._finish(self.driver.finish_migration, resized, power_on)
                return
            try:
                built = {**resized, "image_ref": image_id}
                await self._finish(self.driver.finish_migration, built, power_on, from_image=True)
            finally:
                await self._delete_image(image_id)

        await self._act(
            instance,
            caller,
            "compute_finish_resize",
            work,
            self._settle(instance, caller, values, [states.RESIZE_MIGRATED]),
        )

    async def _finish(
        self,
        method: Callable[..., Awaitable[None]],
        instance: dict[str, Any],
        power_on: bool,
        **options: bool,
    ) -> None:
        """A resize's last step on the guest `instance` describes (with its new or old
        flavor), inside the action so that a failure ends it with a fault."""
        await method(await self._ports_here(instance), power_on=power_on, **options)

    async def _ports_here(self, instance: dict[str, Any]) -> Guest:
        """The guest with the server's ports bound to this host (Nova's
        migrate_instance_finish: the data plane of the host the guest runs on wires
        them); a server without ports gets none made."""
        network = self._deps.network
        if network is None or not await network.vifs(instance["uuid"]):
            return await self._guest(instance)
        return await self._networked(instance)

    async def confirm_resize(self, instance: dict[str, Any], caller: Caller) -> None:
        """On the source: forget the old guest."""
        await self._act(
            instance,
            caller,
            "compute_confirm_resize",
            lambda: self.driver.confirm_migration(instance["uuid"]),
            self._conductor_call("resize_confirmed", instance, caller),
        )

    async def revert_resize(self, instance: dict[str, Any], caller: Caller) -> None:
        """On the destination: drop the new guest, let the source bring the old one back."""
        source = instance["system_metadata"].get("source_host", self.host)

        async def work() -> None:
            if source != self.host:
                await self.driver.destroy(instance["uuid"])

        dropped = await self._act(
            instance,
            caller,
            "compute_revert_resize",
            work,
            self._settle(instance, caller, {}, None),
        )
        if dropped:
            await self._bus.cast(
                "compute", "finish_revert_resize", server=source, instance=instance, caller=caller
            )

    async def finish_revert_resize(self, instance: dict[str, Any], caller: Caller) -> None:
        flavors = instance["flavor"]
        power_on = instance["system_metadata"].get("old_vm_state") != states.STOPPED
        reverted = {**instance, "flavor": {"current": flavors.get("old")}}
        await self._act(
            instance,
            caller,
            "compute_finish_revert_resize",
            lambda: self._finish(self.driver.finish_revert_migration, reverted, power_on),
            self._conductor_call("resize_reverted", instance, caller),
        )

    # --- shelve (nimbus.compute.shelve) -------------------------------------------------

    async def shelve_instance(
        self, instance: dict[str, Any], caller: Caller, image_id: str
    ) -> None:
        """Power the guest off and snapshot it into `image_id`; offload at once when
        shelved_offload_time is 0 (Nova's default). A failed shelve leaves no image."""
        uuid = instance["uuid"]
        offload = self._options.shelved_offload_time == 0

        async def work() -> None:
            if await self.driver.get_info(uuid) != states.SHUTDOWN:
                await self.driver.power_off(uuid)
            await self._snapshot_into(uuid, image_id)
            if offload:
                await self.driver.destroy(uuid)

        at = datetime.now(UTC).isoformat()
        meta = shelve.shelved_metadata(instance, image_id, self.host, at)
        values = {
            "vm_state": states.SHELVED,
            "task_state": None,
            "power_state": states.SHUTDOWN,
            "system_metadata": meta,
        }
        report = (
            self._offloaded(instance, caller, meta)
            if offload
            else self._settle(instance, caller, values, [states.SHELVING])
        )
        event = "compute_shelve_instance"
        await self._act(instance, caller, event, work, report, error_state=False)

    def _offloaded(
        self, instance: dict[str, Any], caller: Caller, meta: dict[str, Any]
    ) -> Callable[[Event], Awaitable[object]]:
        def report(event: Event) -> Awaitable[object]:
            return self._conductor(
                "instance_offloaded",
                uuid=instance["uuid"],
                caller=caller,
                event=event,
                system_metadata=meta,
            )

        return report

    async def shelve_offload_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        """The shelved guest goes; the conductor frees its claims."""
        await self._act(
            instance,
            caller,
            "compute_shelve_offload_instance",
            lambda: self.driver.destroy(instance["uuid"]),
            self._offloaded(instance, caller, instance["system_metadata"]),
            error_state=False,
        )

    async def unshelve_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        """Power a shelved guest back on, or boot an offloaded server (placed here by
        the conductor) from its snapshot; the snapshot is deleted once it runs."""
        uuid = instance["uuid"]
        image_id = instance["system_metadata"].get(shelve.IMAGE_KEY)
        offloaded = instance["vm_state"] == states.SHELVED_OFFLOADED

        async def work() -> None:
            if offloaded:
                booted = {**instance, "image_ref": image_id or instance["image_ref"]}
                await self.driver.spawn(await self._networked(booted))
            else:
                await self.driver.power_on(uuid)

        values = {
            "vm_state": states.ACTIVE,
            "task_state": None,
            "power_state": states.RUNNING,
            "system_metadata": shelve.unshelved_metadata(instance),
        }
        report = self._settle(instance, caller, values, [states.UNSHELVING], launched=offloaded)
        event = "compute_unshelve_instance"
        if await self._act(instance, caller, event, work, report) and image_id:
            await self._delete_image(image_id)

    async def _delete_image(self, image_id: str) -> None:
        """An image and its data (a shelved server's snapshot, once unshelved)."""
        await self._drop_image(image_id)
        store = self._deps.image_store
        if store is not None:
            with suppress(Exception):
                await store.delete(image_id)

    # --- backups (nimbus.compute.backups) -------------------------------------------------

    async def backup_instance(
        self,
        instance: dict[str, Any],
        caller: Caller,
        image_id: str,
        backup_type: str,
        rotation: int,
    ) -> None:
        """A snapshot into the backup image, then the server's backups of that type
        beyond the `rotation` newest are deleted."""
        uuid = instance["uuid"]

        async def work() -> None:
            await self._snapshot_into(uuid, image_id)
            async with self._db.reader() as session:
                old = await backups.beyond_rotation(session, uuid, backup_type, rotation)
            for image in old:
                await self._delete_image(image)

        report = self._settle(instance, caller, {"task_state": None}, [states.IMAGE_BACKUP])
        await self._act(
            instance, caller, "compute_backup_instance", work, report, error_state=False
        )

    # --- rescue (nimbus.compute.rescue) ---------------------------------------------------

    async def rescue_instance(
        self,
        instance: dict[str, Any],
        caller: Caller,
        rescue_image_ref: str | None,
        admin_password: str | None = None,
    ) -> None:
        """Boot the rescue image with the guest's own disk attached second."""
        booted = {**instance, "image_ref": rescue_image_ref or instance["image_ref"]}

        async def work() -> None:
            await self.driver.rescue(await self._guest(booted, admin_password=admin_password))

        values = {"vm_state": states.RESCUED, "task_state": None, "power_state": states.RUNNING}
        report = self._settle(instance, caller, values, [states.RESCUING])
        await self._act(instance, caller, "compute_rescue_instance", work, report)

    async def unrescue_instance(self, instance: dict[str, Any], caller: Caller) -> None:
        values = {"vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING}
        await self._act(
            instance,
            caller,
            "compute_unrescue_instance",
            lambda: self.driver.unrescue(instance["uuid"]),
            self._settle(instance, caller, values, [states.UNRESCUING]),
        )


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while block := await asyncio.to_thread(handle.read, 1 << 20):
            yield block
    finally:
        handle.close()
