"""The fake driver: guests are records in memory, so one machine can play hundreds of
hosts and the control plane can be tested and measured without a hypervisor.

Sizes are configurable, and so are a latency added to every operation and failures
injected per operation (``fail_on``), which is how tests make a build fail on one host
and succeed on another.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from nimbus.compute import states
from nimbus.virt.driver import Driver, DriverError, Guest, GuestNotFound, HostResources, Nic

#: A snapshot of a fake guest is this big (plus the qcow2 header's cluster).
SNAPSHOT_BYTES = 1 << 16


def qcow2_bytes(virtual_size: int) -> bytes:
    """A minimal valid qcow2 image (v3 header, no backing file) of `virtual_size`, as
    qemu-img would begin one: enough for the image service's format check."""
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        *(b"QFI\xfb", 3, 0, 0, 16, virtual_size, 0, 1, 0x30000, 0x10000, 1, 0, 0),
        *(0, 0, 0, 4, 104),
    )
    return header.ljust(SNAPSHOT_BYTES, b"\0")


@dataclass
class _Record:
    guest: Guest
    power_state: int = states.RUNNING
    console: list[str] = field(default_factory=list)
    #: The image a rescued guest booted from (None: its own disk).
    rescue_image: str | None = None


class FakeDriver(Driver):
    """A hypervisor that keeps its guests in a dict."""

    name = "fake"

    def __init__(
        self,
        *,
        vcpus: int = 16,
        memory_mb: int = 65536,
        local_gb: int = 1024,
        latency: float = 0.0,
        fail_on: set[str] | None = None,
    ) -> None:
        self.resources = HostResources(
            vcpus=vcpus, memory_mb=memory_mb, local_gb=local_gb, hypervisor_type="fake"
        )
        self.latency = latency
        #: Operation names ("spawn", "reboot"…) that raise DriverError until removed.
        self.fail_on: set[str] = set(fail_on or ())
        #: When set, spawn makes the guest and then never returns until it is cancelled
        #: (a guest that never comes up), for tests of the agent's build_timeout.
        self.spawn_hangs = False
        self.host = ""
        self._guests: dict[str, _Record] = {}
        #: What a resize's source keeps until the resize is confirmed or reverted.
        self._migrated: dict[str, _Record] = {}

    async def _operation(self, name: str) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        if name in self.fail_on:
            raise DriverError(f"fake driver: injected failure of {name} on {self.host}")

    def _get(self, uuid: str) -> _Record:
        try:
            return self._guests[uuid]
        except KeyError:
            raise GuestNotFound(f"no guest {uuid} on {self.host}") from None

    def _log(self, record: _Record, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        record.console.append(f"[{stamp}] {line}")

    async def init_host(self, host: str) -> None:
        self.host = host

    async def get_available_resources(self) -> HostResources:
        return self.resources

    async def list_instances(self) -> list[str]:
        return list(self._guests)

    async def get_info(self, uuid: str) -> int:
        return self._get(uuid).power_state

    async def spawn(self, guest: Guest) -> None:
        await self._operation("spawn")
        record = _Record(guest)
        self._guests[guest.uuid] = record
        self._boot_log(record)
        if self.spawn_hangs:
            await asyncio.get_running_loop().create_future()

    def _boot_log(self, record: _Record) -> None:
        name = record.guest.name
        for line in (
            f"Linux version 6.1.0-fake (nimbus fake driver) on {self.host}",
            f"Memory: {record.guest.memory_mb}MB, CPUs: {record.guest.vcpus}",
            "Starting cloud-init: fetching user-data",
            f"{name} login:",
        ):
            self._log(record, line)

    async def destroy(self, uuid: str) -> None:
        await self._operation("destroy")
        self._guests.pop(uuid, None)

    async def reboot(self, uuid: str, *, hard: bool) -> None:
        await self._operation("reboot")
        record = self._get(uuid)
        self._log(record, f"reboot ({'hard' if hard else 'soft'})")
        record.power_state = states.RUNNING
        self._boot_log(record)

    async def _set_power(self, uuid: str, operation: str, power_state: int) -> None:
        await self._operation(operation)
        record = self._get(uuid)
        record.power_state = power_state
        self._log(record, operation.replace("_", " "))

    async def power_off(self, uuid: str) -> None:
        await self._set_power(uuid, "power_off", states.SHUTDOWN)

    async def power_on(self, uuid: str) -> None:
        await self._set_power(uuid, "power_on", states.RUNNING)

    async def pause(self, uuid: str) -> None:
        await self._set_power(uuid, "pause", states.POWER_PAUSED)

    async def unpause(self, uuid: str) -> None:
        await self._set_power(uuid, "unpause", states.RUNNING)

    async def suspend(self, uuid: str) -> None:
        await self._set_power(uuid, "suspend", states.POWER_SUSPENDED)

    async def resume(self, uuid: str) -> None:
        await self._set_power(uuid, "resume", states.RUNNING)

    async def snapshot(self, uuid: str, target: Path, disk_format: str) -> None:
        await self._operation("snapshot")
        record = self._get(uuid)
        size = max(record.guest.root_gb, 1) << 30
        data = qcow2_bytes(size) if disk_format == "qcow2" else b"\0" * SNAPSHOT_BYTES
        await asyncio.to_thread(target.write_bytes, data)

    async def migrate_disk_and_power_off(self, uuid: str, dest_host: str) -> None:
        await self._operation("migrate_disk_and_power_off")
        record = self._guests.pop(uuid, None) or self._get(uuid)
        record.power_state = states.SHUTDOWN
        self._migrated[uuid] = record

    async def finish_migration(
        self, guest: Guest, *, power_on: bool, from_image: bool = False
    ) -> None:
        await self._operation("finish_migration")
        record = _Record(guest, states.RUNNING if power_on else states.SHUTDOWN)
        self._guests[guest.uuid] = record
        if power_on:
            self._boot_log(record)

    async def confirm_migration(self, uuid: str) -> None:
        await self._operation("confirm_migration")
        self._migrated.pop(uuid, None)

    async def finish_revert_migration(self, guest: Guest, *, power_on: bool) -> None:
        await self._operation("finish_revert_migration")
        kept = self._migrated.pop(guest.uuid, None)
        record = replace(kept, guest=guest) if kept else _Record(guest)
        record.power_state = states.RUNNING if power_on else states.SHUTDOWN
        self._guests[guest.uuid] = record

    async def rescue(self, guest: Guest) -> None:
        await self._operation("rescue")
        record = self._get(guest.uuid)
        record.rescue_image = guest.image_ref
        record.power_state = states.RUNNING
        self._log(record, f"rescue: booting image {guest.image_ref}, own disk attached second")
        self._boot_log(record)

    async def unrescue(self, uuid: str) -> None:
        await self._operation("unrescue")
        record = self._get(uuid)
        record.rescue_image = None
        record.power_state = states.RUNNING
        self._log(record, "unrescue: booting the own disk")
        self._boot_log(record)

    def rescue_image_of(self, uuid: str) -> str | None:
        """What a rescued guest booted from (tests look)."""
        return self._get(uuid).rescue_image

    async def get_console_output(self, uuid: str) -> str:
        await self._operation("get_console_output")
        return "\n".join(self._get(uuid).console) + "\n"

    async def attach_interface(self, uuid: str, nic: Nic) -> None:
        await self._operation("attach_interface")
        record = self._get(uuid)
        record.guest = replace(record.guest, nics=(*record.guest.nics, nic))

    async def detach_interface(self, uuid: str, nic: Nic) -> None:
        await self._operation("detach_interface")
        record = self._get(uuid)
        kept = tuple(n for n in record.guest.nics if n.mac != nic.mac)
        record.guest = replace(record.guest, nics=kept)
