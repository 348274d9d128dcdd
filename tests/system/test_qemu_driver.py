"""The QEMU driver with real guests (the nimbus guest image under TCG here).

One guest is booted for the whole module and goes through the actions in order, as a
server would: every boot costs ≈ 2 core-seconds under TCG. Each test states what the
guest itself shows (its console, its uptime) and what the host shows (its process,
its files). Every QEMU started here is killed at the end, whatever happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from nimbus.compute import states
from nimbus.guest import BOOT_LINE, KERNEL_CMDLINE, boot_files
from nimbus.virt.driver import DirectBoot, Guest, ImageFile
from nimbus.virt.qemu import disks
from nimbus.virt.qemu.driver import QemuDriver
from tests.system.qemu_support import (
    DRIVER_HOST,
    TICKER_USER_DATA,
    cmdline,
    image_guest,
    needs_qemu,
    qemu_pids,
    ticks,
    until,
)

pytestmark = [pytest.mark.system, needs_qemu]



@pytest.fixture(scope="module")
def guest(guest_image: Path) -> Guest:
    return image_guest(guest_image, "driver-test", TICKER_USER_DATA)


@pytest.fixture(scope="module")
async def booted(driver: QemuDriver, guest: Guest) -> AsyncIterator[Guest]:
    """The module's guest, spawned once, its user_data ticker running."""
    await driver.spawn(guest)
    try:
        await until(lambda: _ticking(driver, guest.uuid), "the guest's user_data ticker")
        yield guest
    finally:
        await driver.destroy(guest.uuid)


async def _console(driver: QemuDriver, uuid_: str) -> str:
    return await driver.get_console_output(uuid_)


async def _ticking(driver: QemuDriver, uuid_: str) -> bool:
    return len(ticks(await _console(driver, uuid_))) >= 2


async def _boots(driver: QemuDriver, uuid_: str) -> int:
    return (await _console(driver, uuid_)).count(BOOT_LINE)


async def _boot_count_reaches(driver: QemuDriver, uuid_: str, count: int) -> None:
    async def reached() -> bool:
        return await _boots(driver, uuid_) >= count

    await until(reached, f"boot number {count}")


def _pid(driver: QemuDriver, uuid_: str) -> int:
    return qemu_pids(driver.layout.root)[uuid_]


async def test_spawn_runs_one_qemu_with_the_uuid_and_the_guest_boots(
    driver: QemuDriver, booted: Guest
) -> None:
    console = await _console(driver, booted.uuid)
    assert BOOT_LINE in console
    assert "user-data-ran on driver-test" in console
    argv = cmdline(_pid(driver, booted.uuid))
    assert argv[argv.index("-uuid") + 1] == booted.uuid
    assert argv[argv.index("-m") + 1] == "256" and argv[argv.index("-smp") + 1] == "1"
    assert await driver.get_info(booted.uuid) == states.RUNNING
    assert await driver.list_instances() == [booted.uuid]
    root = await disks.info(driver.layout.instance(booted.uuid).disk)
    assert (root.format, root.virtual_size) == ("qcow2", 1 << 30)
    assert root.backing_file == str(driver.layout.base(booted.image_ref or ""))


async def test_pause_freezes_the_guest_and_unpause_lets_it_go_on(
    driver: QemuDriver, booted: Guest
) -> None:
    await driver.pause(booted.uuid)
    assert await driver.get_info(booted.uuid) == states.POWER_PAUSED
    frozen = ticks(await _console(driver, booted.uuid))
    await asyncio.sleep(3)
    assert ticks(await _console(driver, booted.uuid)) == frozen
    await driver.unpause(booted.uuid)
    assert await driver.get_info(booted.uuid) == states.RUNNING

    async def ticking_again() -> bool:
        return len(ticks(await _console(driver, booted.uuid))) > len(frozen)

    await until(ticking_again, "a tick after unpause", 30)


async def test_suspend_saves_the_guest_and_resume_continues_its_uptime(
    driver: QemuDriver, booted: Guest
) -> None:
    boots = await _boots(driver, booted.uuid)
    await driver.suspend(booted.uuid)
    directory = driver.layout.instance(booted.uuid)
    assert await driver.get_info(booted.uuid) == states.POWER_SUSPENDED
    assert booted.uuid not in qemu_pids(driver.layout.root)
    assert directory.saved_state.stat().st_size > 0
    before = ticks(await _console(driver, booted.uuid))

    await driver.resume(booted.uuid)
    assert await driver.get_info(booted.uuid) == states.RUNNING
    assert not directory.saved_state.exists()

    async def ticked_on() -> bool:
        return len(ticks(await _console(driver, booted.uuid))) > len(before) + 1

    await until(ticked_on, "ticks after resume", 30)
    after = ticks(await _console(driver, booted.uuid))[len(before) :]
    # The same boot goes on: uptime continues from where it stopped, no new boot.
    assert after[0] >= before[-1]
    assert after[0] - before[-1] < 10
    assert await _boots(driver, booted.uuid) == boots


async def test_a_new_driver_finds_the_running_guest_again(
    instances: Path, driver: QemuDriver, booted: Guest
) -> None:
    """An agent restart: a new driver on the same directory sees the same guest."""
    again = QemuDriver(instances)
    await again.init_host(DRIVER_HOST)
    assert await again.list_instances() == [booted.uuid]
    assert await again.get_info(booted.uuid) == states.RUNNING
    assert len(qemu_pids(instances)) == 1


async def test_snapshot_is_a_standalone_qcow2_and_the_guest_goes_on(
    driver: QemuDriver, booted: Guest, tmp_path: Path
) -> None:
    target = tmp_path / "snap.qcow2"
    await driver.snapshot(booted.uuid, target, "qcow2")
    copy = await disks.info(target)
    assert (copy.format, copy.virtual_size, copy.backing_file) == ("qcow2", 1 << 30, None)
    base = tmp_path / "_base" / "snap"
    await disks.fetch_disk_base(target, base, None, "qcow2")  # usable as an image
    assert (await disks.check_fits(base, 1)).format == "raw"
    assert await driver.get_info(booted.uuid) == states.RUNNING


async def test_soft_reboot_boots_again_without_rerunning_user_data(
    driver: QemuDriver, booted: Guest
) -> None:
    boots, pid = await _boots(driver, booted.uuid), _pid(driver, booted.uuid)
    await driver.reboot(booted.uuid, hard=False)
    await _boot_count_reaches(driver, booted.uuid, boots + 1)
    console = await _console(driver, booted.uuid)
    assert console.count("user-data-ran") == 1
    assert _pid(driver, booted.uuid) != pid


async def test_hard_reboot_restarts_the_process(driver: QemuDriver, booted: Guest) -> None:
    boots, pid = await _boots(driver, booted.uuid), _pid(driver, booted.uuid)
    await driver.reboot(booted.uuid, hard=True)
    assert _pid(driver, booted.uuid) != pid
    await _boot_count_reaches(driver, booted.uuid, boots + 1)
    assert await driver.get_info(booted.uuid) == states.RUNNING


async def test_power_off_and_on(driver: QemuDriver, booted: Guest) -> None:
    boots = await _boots(driver, booted.uuid)
    await driver.power_off(booted.uuid)
    assert await driver.get_info(booted.uuid) == states.SHUTDOWN
    assert booted.uuid not in qemu_pids(driver.layout.root)
    await driver.power_on(booted.uuid)
    assert await driver.get_info(booted.uuid) == states.RUNNING
    await _boot_count_reaches(driver, booted.uuid, boots + 1)


async def test_resize_and_revert(driver: QemuDriver, booted: Guest) -> None:
    bigger = replace(booted, memory_mb=320, root_gb=2)
    await driver.migrate_disk_and_power_off(booted.uuid, DRIVER_HOST)
    await driver.finish_migration(bigger, power_on=True)
    directory = driver.layout.instance(booted.uuid)
    argv = cmdline(_pid(driver, booted.uuid))
    assert argv[argv.index("-m") + 1] == "320"
    assert (await disks.info(directory.disk)).virtual_size == 2 << 30
    assert driver.layout.resize_kept(booted.uuid).path.is_dir()
    boots = await _boots(driver, booted.uuid)

    await driver.finish_revert_migration(booted, power_on=True)
    argv = cmdline(_pid(driver, booted.uuid))
    assert argv[argv.index("-m") + 1] == "256"
    assert (await disks.info(directory.disk)).virtual_size == 1 << 30
    assert not driver.layout.resize_kept(booted.uuid).path.exists()
    await _boot_count_reaches(driver, booted.uuid, boots)


async def test_resize_confirmed_drops_the_old_disk(driver: QemuDriver, booted: Guest) -> None:
    await driver.migrate_disk_and_power_off(booted.uuid, DRIVER_HOST)
    await driver.finish_migration(replace(booted, root_gb=2), power_on=False)
    assert await driver.get_info(booted.uuid) == states.SHUTDOWN
    await driver.confirm_migration(booted.uuid)
    assert not driver.layout.resize_kept(booted.uuid).path.exists()
    await driver.power_on(booted.uuid)
    assert await driver.get_info(booted.uuid) == states.RUNNING


async def test_a_killed_qemu_is_seen_as_shut_down(driver: QemuDriver, booted: Guest) -> None:
    os.kill(_pid(driver, booted.uuid), signal.SIGKILL)

    async def gone() -> bool:
        return await driver.get_info(booted.uuid) == states.SHUTDOWN

    await until(gone, "the killed guest seen as shut down", 10)


async def test_destroy_leaves_no_process_and_no_files(
    driver: QemuDriver, booted: Guest, instances: Path
) -> None:
    await driver.power_on(booted.uuid)
    await driver.destroy(booted.uuid)
    assert qemu_pids(instances) == {}
    assert not driver.layout.instance(booted.uuid).path.exists()
    assert await driver.list_instances() == []
    with pytest.raises(Exception, match="no guest"):
        await driver.get_info(booted.uuid)


async def test_an_image_that_is_not_a_disk_fails_the_build(
    driver: QemuDriver, tmp_path: Path
) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not a disk image\n" * 100)
    ident = str(uuid.uuid4())
    bad = Guest(
        uuid=ident, name="junk", vcpus=1, memory_mb=128, root_gb=1, image_ref=f"junk-{ident}",
        image_path=junk, image_format="raw",
    )  # fmt: skip
    with pytest.raises(disks.ImageUnusable, match="not a bootable disk"):
        await driver.spawn(bad)
    await driver.destroy(ident)
    assert not driver.layout.instance(ident).path.exists()


def _image_file(path: Path) -> ImageFile:
    digest = hashlib.sha512(path.read_bytes()).hexdigest()
    return ImageFile(f"boot-{uuid.uuid4().hex[:8]}", path, digest)


async def test_an_image_naming_a_kernel_boots_it_directly(
    driver: QemuDriver, guest: Guest, guest_image: Path, instances: Path
) -> None:
    """kernel_id / ramdisk_id / os_command_line: QEMU boots that kernel and ramdisk with
    that command line (the kernel prints it) instead of the disk's bootloader."""
    kernel, initrd = boot_files(guest_image)
    direct = replace(
        guest,
        uuid=str(uuid.uuid4()),
        user_data=None,
        direct_boot=DirectBoot(
            _image_file(kernel), _image_file(initrd), f"{KERNEL_CMDLINE} nimbus.test=direct"
        ),
    )
    await driver.spawn(direct)
    try:
        argv = cmdline(_pid(driver, direct.uuid))
        kernel_base = driver.layout.base(direct.direct_boot.kernel.id)  # type: ignore[union-attr]
        assert argv[argv.index("-kernel") + 1] == str(kernel_base)
        assert argv[argv.index("-append") + 1].endswith("nimbus.test=direct")

        async def booted_directly() -> bool:
            console = await _console(driver, direct.uuid)
            return BOOT_LINE in console and "nimbus.test=direct" in console

        await until(booted_directly, "the directly booted kernel's command line and boot line")
    finally:
        await driver.destroy(direct.uuid)
    assert direct.uuid not in qemu_pids(instances)
