"""The QEMU driver: each guest is one `qemu-system-x86_64` process driven over QMP.

How each action maps to QEMU (docs/qemu-driver.md has the whole story):
- spawn: base image fetched and checked once per image, root disk a qcow2 overlay on
  it, ephemeral/swap/config drive when asked, then QEMU started daemonized.
- power_off: ACPI power button (`system_powerdown`), QEMU exits when the guest powers
  off; after `shutdown_timeout` seconds the process is killed. power_on starts it again.
- reboot: soft = a clean power-off as above, then a new QEMU (as libvirt's soft reboot:
  there is no ACPI reboot button); a guest that does not shut down in time gets the
  hard path. Hard = the process is killed and started again.
- pause/unpause: QMP `stop`/`cont`. suspend: the paused guest's state is migrated to
  a file and QEMU exits; resume starts QEMU with `-incoming` from that file (the guest
  continues where it was; its uptime keeps counting).
- snapshot: the guest is paused while `qemu-img convert -U` copies its disk.
- resize: the source's directory is kept as `<uuid>_resize`; the new guest gets a copy
  of its disk, grown, on the same host, or is built from an image of it (uploaded by
  the source's agent) on another; revert brings the kept directory back, confirm
  deletes it.
- rescue: a clean power-off, then QEMU boots `disk.rescue` (an overlay on the rescue
  image) with the own disk second, on the IDE bus; unrescue kills that QEMU, drops
  `disk.rescue` and boots the own disk.

A guest's power state is read from what exists: a live QEMU (then QMP's run state),
else a saved state file (suspended), else shut down. A QEMU that dies is thus seen as
shut down, and guests are found again after the agent restarts.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import logging
import os
import platform
import shlex
import shutil
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

from nimbus.compute import states
from nimbus.virt.driver import Driver, DriverError, Guest, GuestNotFound, HostResources, Nic
from nimbus.virt.qemu import configdrive, disks, imagecache, process, qmp
from nimbus.virt.qemu.accel import QEMU, Accelerator
from nimbus.virt.qemu.commands import run
from nimbus.virt.qemu.layout import InstanceDir, Layout
from nimbus.virt.qemu.process import LaunchSpec

LOG = logging.getLogger(__name__)
#: QEMU run states (query-status) and the power state each one is.
_RUN_STATES = {
    "running": states.RUNNING,
    "paused": states.POWER_PAUSED,
    "postmigrate": states.POWER_PAUSED,
    "prelaunch": states.POWER_PAUSED,
    "inmigrate": states.POWER_PAUSED,
    "finish-migrate": states.POWER_PAUSED,
    "suspended": states.POWER_SUSPENDED,
    "shutdown": states.SHUTDOWN,
    "internal-error": states.CRASHED,
    "io-error": states.CRASHED,
    "guest-panicked": states.CRASHED,
}
#: Nova's MAX_CONSOLE_BYTES: the console output is the log's last 100 KiB.
MAX_CONSOLE_BYTES = 100 * 1024
_MIGRATION_POLL = 0.1
#: Seconds between ACPI power button presses while waiting for a guest to power off.
SHUTDOWN_RETRY = 4.0
#: Seconds a guest may take to release a NIC being unplugged (ACPI hot-unplug).
DETACH_TIMEOUT = 20.0


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _memory_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise DriverError("no MemTotal in /proc/meminfo")


def _usage(path: Path) -> int:
    return sum(entry.stat().st_blocks * 512 for entry in path.rglob("*") if entry.is_file())


def _local_gb(root: Path) -> int:
    """What guests can have: the free space where instances live plus what they use."""
    return (shutil.disk_usage(root).free + _usage(root)) >> 30


def _tail(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - size))
            return log.read()
    except FileNotFoundError:
        return b""


class QemuDriver(Driver):
    """Guests as QEMU processes under `instances_path`."""

    name = "qemu"
    needs_image_data = True
    #: A guest that powers itself off or a QEMU that dies shows as SHUTOFF within this.
    guest_check_interval = 5.0

    def __init__(
        self,
        instances_path: Path,
        *,
        force_config_drive: bool = True,
        shutdown_timeout: float = 60.0,
        tcg_tb_size_mb: int = 32,
        image_cache_max_age: float = 86400.0,
    ) -> None:
        self.layout = Layout(Path(instances_path))
        self.force_config_drive = force_config_drive
        self.shutdown_timeout = shutdown_timeout
        self.image_cache_max_age = image_cache_max_age
        self.accel = Accelerator(self.layout.root / "_accel.json", tcg_tb_size_mb)
        self.host = ""
        self._version = 0
        self._image_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._probing: asyncio.Task[bool] | None = None

    # --- host ---------------------------------------------------------------------------

    async def init_host(self, host: str) -> None:
        self.host = host
        await asyncio.to_thread(self.layout.root.mkdir, parents=True, exist_ok=True)
        words = (await run(QEMU, "--version")).split()
        major, minor, micro = (int(n) for n in words[words.index("version") + 1].split("."))
        self._version = major * 1_000_000 + minor * 1000 + micro
        # The accelerator probe (3 s where KVM hangs) runs now, in the background, so that
        # the first boot does not pay it; a start while it runs awaits the same answer.
        self._probing = asyncio.create_task(self.accel.kvm())

    async def manage_image_cache(self) -> None:
        """Remove the bases no guest has used for `image_cache_max_age` seconds. Each is
        checked again under its image's lock, which a spawn holds while it fetches (and
        so touches) the base: a base cannot go while a guest is being made from it."""
        unused = partial(imagecache.unused_bases, self.layout, self.image_cache_max_age)
        for base in await asyncio.to_thread(unused):
            async with self._image_locks[imagecache.image_id(base)]:
                if base in await asyncio.to_thread(unused):
                    await asyncio.to_thread(base.unlink, missing_ok=True)
                    LOG.info("removed the unused base image %s", base.name)

    async def get_available_resources(self) -> HostResources:
        memory_mb = await asyncio.to_thread(_memory_mb)
        local_gb = await asyncio.to_thread(_local_gb, self.layout.root)
        return HostResources(
            vcpus=len(os.sched_getaffinity(0)),
            memory_mb=memory_mb,
            local_gb=local_gb,
            hypervisor_type="QEMU",
            hypervisor_version=self._version,
            cpu_info=json.dumps({"arch": platform.machine()}),
        )

    async def list_instances(self) -> list[str]:
        return [d.uuid for d in await asyncio.to_thread(self.layout.instances)]

    def _dir(self, uuid: str) -> InstanceDir:
        directory = self.layout.instance(uuid)
        if not directory.path.is_dir():
            raise GuestNotFound(f"no guest {uuid} on {self.host}")
        return directory

    async def get_info(self, uuid: str) -> int:
        directory = self._dir(uuid)
        if process.pid_of(directory) is not None:
            try:
                async with qmp.connect(directory.qmp) as monitor:
                    status = await monitor.execute("query-status")
                return _RUN_STATES.get(status["status"], states.NOSTATE)
            except qmp.QmpClosed:
                pass  # exiting right now: what it leaves behind tells
        return states.POWER_SUSPENDED if directory.saved_state.exists() else states.SHUTDOWN

    # --- build and delete ---------------------------------------------------------------

    async def spawn(self, guest: Guest) -> None:
        await self._start(await self._build(guest))

    async def _build(self, guest: Guest) -> InstanceDir:
        """The guest's directory made from its image: disks and launch spec, no QEMU."""
        directory = self.layout.instance(guest.uuid)
        await asyncio.to_thread(directory.path.mkdir, parents=True, exist_ok=True)
        await self._root_disk(guest, directory)
        await self._extra_disks(guest, directory)
        spec = LaunchSpec(
            uuid=guest.uuid,
            name=guest.name,
            vcpus=guest.vcpus,
            memory_mb=guest.memory_mb,
            macs=tuple(nic.mac for nic in guest.nics),
            taps=tuple(nic.tap or "" for nic in guest.nics),
            **await self._direct_boot(guest),
        )
        await asyncio.to_thread(spec.save, directory)
        return directory

    async def _root_disk(
        self, guest: Guest, directory: InstanceDir, disk: Path | None = None
    ) -> None:
        """An overlay on the guest's image (fetched once) at `disk` (the root disk)."""
        if guest.image_ref is None or guest.image_path is None:
            raise DriverError(f"image {guest.image_ref} has no data on this host")
        base = self.layout.base(guest.image_ref)
        async with self._image_locks[guest.image_ref]:
            await disks.fetch_disk_base(
                guest.image_path,
                base,
                guest.image_hash,
                guest.image_format,
                bootloader=guest.direct_boot is None,
            )
        found = await disks.check_fits(base, guest.root_gb)
        await disks.create_root(disk or directory.disk, base, found.format, guest.root_gb)

    async def _direct_boot(self, guest: Guest) -> dict[str, str]:
        """The launch spec's kernel, initrd and append for an image that names a kernel
        to boot (fetched and checked once per image, like disk bases); none otherwise."""
        boot = guest.direct_boot
        if boot is None:
            return {}
        files = {"kernel": boot.kernel, "initrd": boot.ramdisk}
        found = {}
        for key, image in files.items():
            if image is None:
                continue
            base = self.layout.base(image.id)
            async with self._image_locks[image.id]:
                await disks.fetch_base(image.path, base, image.sha512)
            found[key] = str(base)
        return {**found, "append": boot.cmdline or ""}

    async def _extra_disks(self, guest: Guest, directory: InstanceDir) -> None:
        """Ephemeral, swap and config drive, each when the flavor or request asks."""
        if guest.ephemeral_gb and not directory.ephemeral.exists():
            await disks.create_ephemeral(directory.ephemeral, guest.ephemeral_gb)
        directory.swap.unlink(missing_ok=True)
        if guest.swap_mb:
            await disks.create_swap(directory.swap, guest.swap_mb)
        directory.config_drive.unlink(missing_ok=True)
        if guest.config_drive or self.force_config_drive:
            await configdrive.build(directory.config_drive, _metadata(guest))

    async def destroy(self, uuid: str) -> None:
        for directory in (self.layout.instance(uuid), self.layout.resize_kept(uuid)):
            await process.kill(directory)
            await asyncio.to_thread(_remove, directory.path)

    # --- starting and stopping ----------------------------------------------------------

    async def _start(self, directory: InstanceDir, *, incoming: bool = False) -> None:
        spec = await asyncio.to_thread(LaunchSpec.load, directory)
        argv = process.command(directory, spec, await self.accel.options(), incoming=incoming)
        await process.launch(argv, directory)

    async def _shut_down(self, directory: InstanceDir) -> bool:
        """Ask the guest to power off (ACPI) and wait `shutdown_timeout` seconds for its
        QEMU to exit; whether it did. The button is pressed again every few seconds, as
        Nova does, since a guest still booting may miss it; a paused guest cannot hear it.
        """
        pid = process.pid_of(directory)
        if pid is None:
            return True
        deadline = time.monotonic() + self.shutdown_timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                async with qmp.connect(directory.qmp) as monitor:
                    if (await monitor.execute("query-status"))["status"] != "running":
                        return False
                    await monitor.execute("system_powerdown")
            except qmp.QmpClosed:
                pass  # exiting already
            if await process.wait_gone(pid, directory.uuid, min(left, SHUTDOWN_RETRY)):
                return True
        return False

    async def power_off(self, uuid: str) -> None:
        directory = self._dir(uuid)
        if not await self._shut_down(directory):
            await process.kill(directory)
        directory.saved_state.unlink(missing_ok=True)

    async def power_on(self, uuid: str) -> None:
        directory = self._dir(uuid)
        if process.pid_of(directory) is None:
            directory.saved_state.unlink(missing_ok=True)
            await self._start(directory)

    async def reboot(self, uuid: str, *, hard: bool) -> None:
        directory = self._dir(uuid)
        if hard or not await self._shut_down(directory):
            await process.kill(directory)
        directory.saved_state.unlink(missing_ok=True)
        await self._start(directory)

    async def _monitor(self, uuid: str, command: str) -> None:
        directory = self._dir(uuid)
        async with qmp.connect(directory.qmp) as monitor:
            await monitor.execute(command)

    async def pause(self, uuid: str) -> None:
        await self._monitor(uuid, "stop")

    async def unpause(self, uuid: str) -> None:
        await self._monitor(uuid, "cont")

    async def suspend(self, uuid: str) -> None:
        """Pause, save memory and device state to a file, and let QEMU exit."""
        directory = self._dir(uuid)
        partial = directory.saved_state.with_suffix(".part")
        pid = process.pid_of(directory)
        if pid is None:
            raise DriverError(f"guest {uuid} is not running")
        async with qmp.connect(directory.qmp) as monitor:
            await monitor.execute("stop")
            await monitor.execute("migrate", uri=f"exec:cat > {shlex.quote(str(partial))}")
            while (status := await monitor.execute("query-migrate"))["status"] != "completed":
                if status["status"] in ("failed", "cancelled"):
                    await monitor.execute("cont")
                    raise DriverError(f"saving {uuid}: {status.get('error-desc', 'failed')}")
                await asyncio.sleep(_MIGRATION_POLL)
            await monitor.execute("quit")
        if not await process.wait_gone(pid, uuid, self.shutdown_timeout):
            raise DriverError(f"QEMU of {uuid} did not quit after saving its state")
        partial.rename(directory.saved_state)

    async def resume(self, uuid: str) -> None:
        """Start QEMU from the saved state and let the guest continue."""
        directory = self._dir(uuid)
        if not directory.saved_state.exists():
            raise DriverError(f"guest {uuid} has no saved state to resume from")
        await self._start(directory, incoming=True)
        async with qmp.connect(directory.qmp) as monitor:
            while (await monitor.execute("query-status"))["status"] == "inmigrate":
                await asyncio.sleep(_MIGRATION_POLL)
            await monitor.execute("cont")
        directory.saved_state.unlink()

    # --- rescue -----------------------------------------------------------------------------

    async def rescue(self, guest: Guest) -> None:
        """Power the guest off (cleanly, as Nova does first), then boot a fresh overlay
        on the rescue image with the guest's own disk as the second disk. A guest that
        finds its root by label may see two: the rescue disk is probed first."""
        directory = self._dir(guest.uuid)
        if not await self._shut_down(directory):
            await process.kill(directory)
        directory.saved_state.unlink(missing_ok=True)
        directory.rescue_disk.unlink(missing_ok=True)
        await self._root_disk(guest, directory, directory.rescue_disk)
        await self._start(directory)

    async def unrescue(self, uuid: str) -> None:
        """Stop the rescue guest at once, drop its disk, boot the own disk."""
        directory = self._dir(uuid)
        await process.kill(directory)
        directory.rescue_disk.unlink(missing_ok=True)
        await self._start(directory)

    # --- disks ----------------------------------------------------------------------------

    async def snapshot(self, uuid: str, target: Path, disk_format: str) -> None:
        """A standalone, consistent copy of the root disk: a running guest is paused
        (QEMU flushes its disks on `stop`) for the copy and continues afterwards."""
        directory = self._dir(uuid)
        if process.pid_of(directory) is None:
            await disks.convert(directory.disk, target, disk_format)
            return
        async with qmp.connect(directory.qmp) as monitor:
            running = (await monitor.execute("query-status"))["status"] == "running"
            if running:
                await monitor.execute("stop")
            try:
                await disks.convert(directory.disk, target, disk_format)
            finally:
                if running:
                    await monitor.execute("cont")

    async def migrate_disk_and_power_off(self, uuid: str, dest_host: str) -> None:
        """Power off and keep the directory as `<uuid>_resize`, whichever the
        destination: another host has the root disk from the image service by now."""
        await self.power_off(uuid)
        kept = self.layout.resize_kept(uuid)
        await asyncio.to_thread(_remove, kept.path)
        await asyncio.to_thread(self.layout.instance(uuid).path.rename, kept.path)

    async def finish_migration(
        self, guest: Guest, *, power_on: bool, from_image: bool = False
    ) -> None:
        """The resized guest. From another host: built from the image of its disk as
        a boot builds one (NICs as `guest` says, the ephemeral disk fresh). On this
        host: copies of the kept disks (the root one grown to the new size) and console
        log, the new CPU and memory."""
        if from_image:
            directory = await self._build(guest)
        else:
            directory = await self._resized_copy(guest)
        if power_on:
            await self._start(directory)

    async def _resized_copy(self, guest: Guest) -> InstanceDir:
        kept = self.layout.resize_kept(guest.uuid)
        directory = self.layout.instance(guest.uuid)
        await asyncio.to_thread(directory.path.mkdir)
        for name in (kept.disk, kept.ephemeral, kept.console_log):
            if name.exists():
                await asyncio.to_thread(shutil.copy2, name, directory.path / name.name)
        await disks.grow(directory.disk, guest.root_gb)
        await self._extra_disks(guest, directory)
        old = await asyncio.to_thread(LaunchSpec.load, kept)
        spec = dataclasses.replace(
            old, name=guest.name, vcpus=guest.vcpus, memory_mb=guest.memory_mb
        )
        await asyncio.to_thread(spec.save, directory)
        return directory

    async def confirm_migration(self, uuid: str) -> None:
        await asyncio.to_thread(_remove, self.layout.resize_kept(uuid).path)

    async def finish_revert_migration(self, guest: Guest, *, power_on: bool) -> None:
        kept = self.layout.resize_kept(guest.uuid)
        if not kept.path.is_dir():
            raise DriverError(f"nothing kept to revert the resize of {guest.uuid} to")
        directory = self.layout.instance(guest.uuid)
        await process.kill(directory)
        await asyncio.to_thread(_remove, directory.path)
        await asyncio.to_thread(kept.path.rename, directory.path)
        if power_on:
            await self._start(directory)

    async def get_console_output(self, uuid: str) -> str:
        directory = self._dir(uuid)
        data = await asyncio.to_thread(_tail, directory.console_log, MAX_CONSOLE_BYTES)
        return data.decode(errors="replace")

    # --- interfaces -----------------------------------------------------------------------

    async def attach_interface(self, uuid: str, nic: Nic) -> None:
        """Into the launch spec (the next start has it), and hot-plugged into a running
        QEMU: the tap backend (`netdev_add`), then a virtio-net device on it."""
        directory = self._dir(uuid)
        spec = await asyncio.to_thread(LaunchSpec.load, directory)
        if nic.mac in spec.macs:
            return
        if process.pid_of(directory) is not None:
            netdev: dict[str, object] = dict(process.netdev_options(nic.mac, nic.tap or ""))
            if "vhost" in netdev:
                netdev["vhost"] = False
            async with qmp.connect(directory.qmp) as monitor:
                await monitor.execute("netdev_add", **netdev)
                await monitor.execute(
                    "device_add",
                    driver="virtio-net-pci",
                    id=process.nic_id(nic.mac),
                    netdev=netdev["id"],
                    mac=nic.mac,
                )
        taps = tuple(tap for _, tap in spec.nics)
        changed = dataclasses.replace(
            spec, macs=(*spec.macs, nic.mac), taps=(*taps, nic.tap or "")
        )
        await asyncio.to_thread(changed.save, directory)

    async def detach_interface(self, uuid: str, nic: Nic) -> None:
        """Out of the launch spec, and unplugged from a running QEMU: `device_del`, wait
        for the guest to let go (DEVICE_DELETED), then `netdev_del`."""
        directory = self._dir(uuid)
        spec = await asyncio.to_thread(LaunchSpec.load, directory)
        if nic.mac not in spec.macs:
            return
        if process.pid_of(directory) is not None:
            device = process.nic_id(nic.mac)
            async with qmp.connect(directory.qmp) as monitor:
                await monitor.execute("device_del", id=device)
                await monitor.event("DEVICE_DELETED", timeout=DETACH_TIMEOUT)
                await monitor.execute("netdev_del", id=process.netdev_options(nic.mac, "")["id"])
        kept = [(mac, tap) for mac, tap in spec.nics if mac != nic.mac]
        changed = dataclasses.replace(
            spec, macs=tuple(m for m, _ in kept), taps=tuple(t for _, t in kept)
        )
        await asyncio.to_thread(changed.save, directory)


def _user_data(encoded: str | None) -> bytes | None:
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return encoded.encode()


def _metadata(guest: Guest) -> configdrive.Metadata:
    return configdrive.Metadata(
        uuid=guest.uuid,
        name=guest.name,
        hostname=guest.hostname or guest.name,
        launch_index=guest.launch_index,
        availability_zone=guest.availability_zone,
        project_id=guest.project_id,
        key_name=guest.key_name,
        key_data=guest.key_data,
        meta={str(k): str(v) for k, v in guest.metadata.items()},
        user_data=_user_data(guest.user_data),
        macs=tuple(nic.mac for nic in guest.nics),
    )
