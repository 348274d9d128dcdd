"""Rescue with a real guest: the QEMU driver boots a fresh disk made from the rescue
image, with the guest's own disk attached second, and unrescue boots the own disk.

The guest's user_data tells which boot it is in: on its own disk (the first boot) it
leaves a marker naming that boot; in the rescue boot (a fresh disk, so user_data runs
again) it prints its root device and the marker it reads from the second disk (on the
IDE bus: /dev/sda).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nimbus.virt.driver import Guest
from nimbus.virt.qemu.driver import QemuDriver
from tests.system.qemu_support import cmdline, image_guest, needs_qemu, qemu_pids, until

pytestmark = [pytest.mark.system, needs_qemu]

USER_DATA = """#!/bin/sh
exec > /dev/ttyS0 2>&1
echo "root-mount $(grep ' / ' /proc/mounts)"
for _ in $(seq 50); do [ -b /dev/sda2 ] && break; sleep 0.2; done
if [ -b /dev/sda2 ]; then
    mkdir -p /mnt/own && mount -o ro /dev/sda2 /mnt/own
    echo "own-disk-says $(cat /mnt/own/root/marker)"
else
    echo "boot-$(cat /proc/sys/kernel/random/boot_id)" > /root/marker && sync
    echo "marker-written $(cat /root/marker)"
fi
"""
_WRITTEN = re.compile(r"marker-written (boot-[0-9a-f-]+)")
_READ = re.compile(r"own-disk-says (boot-[0-9a-f-]+)")


@pytest.fixture(scope="module")
async def guest(driver: QemuDriver, guest_image: Path) -> AsyncIterator[Guest]:
    made = image_guest(guest_image, "rescue-test", USER_DATA)
    await driver.spawn(made)
    try:
        yield made
    finally:
        await driver.destroy(made.uuid)


async def _found(driver: QemuDriver, uuid_: str, pattern: re.Pattern[str]) -> str | None:
    found = pattern.search(await driver.get_console_output(uuid_))
    return found.group(1) if found else None


async def test_rescue_boots_the_rescue_disk_with_the_own_disk_second(
    driver: QemuDriver, guest: Guest, instances: Path
) -> None:
    async def written() -> bool:
        return await _found(driver, guest.uuid, _WRITTEN) is not None

    await until(written, "the first boot's marker")
    marker = await _found(driver, guest.uuid, _WRITTEN)

    await driver.rescue(guest)
    drives = [a for a in cmdline(qemu_pids(instances)[guest.uuid]) if a.startswith("file=")]
    assert "disk.rescue" in drives[0] and "/disk,if=ide," in drives[1]

    async def read_back() -> bool:
        return await _found(driver, guest.uuid, _READ) is not None

    await until(read_back, "the rescue boot reading the own disk")
    assert await _found(driver, guest.uuid, _READ) == marker  # the own disk, second
    rescue_boot = (await driver.get_console_output(guest.uuid)).split("marker-written")[-1]
    assert "root-mount /dev/vda2 / ext4" in rescue_boot  # the first disk: the rescue one

    await driver.unrescue(guest.uuid)
    directory = driver.layout.instance(guest.uuid)
    assert not directory.rescue_disk.exists()
    drives = [a for a in cmdline(qemu_pids(instances)[guest.uuid]) if a.startswith("file=")]
    assert "disk.rescue" not in " ".join(drives) and "/disk," in drives[0]
