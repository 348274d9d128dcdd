"""The QEMU driver boots a whole-disk image laid out like Debian's cloud images: GPT,
GRUB 2 in a BIOS boot partition, the kernel inside an ext4 root (tests/guest/grub_image.py
tells why it is built here). Uploaded as an ordinary qcow2 with no kernel_id, it must
boot by its own bootloader under SeaBIOS, as a user's Debian or Ubuntu image does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nimbus.guest import BOOT_LINE, KERNEL_CMDLINE
from nimbus.virt.driver import Guest
from nimbus.virt.qemu import disks
from nimbus.virt.qemu.commands import run
from nimbus.virt.qemu.driver import QemuDriver
from tests.guest.grub_image import BIOS_BOOT, ESP, GRUB_LINE, ROOT, cached_cloud_layout_image
from tests.system.qemu_support import image_guest, needs_qemu, until

pytestmark = [pytest.mark.system, needs_qemu]

#: Host tools the image's builder needs beyond the guest image's.
_TOOLS = ("debugfs", "e2fsck", "resize2fs")


@pytest.fixture(scope="module")
def cloud_layout_image(guest_image: Path) -> Path:
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the cloud-layout image needs {', '.join(missing)} (e2fsprogs)")
    return cached_cloud_layout_image(guest_image.parent)


@pytest.fixture(scope="module")
async def booted(driver: QemuDriver, cloud_layout_image: Path) -> AsyncIterator[Guest]:
    """The image spawned once, on a 1 GB root disk, up to the guest's boot line."""
    guest = image_guest(cloud_layout_image, "cloud-layout", "")
    await driver.spawn(guest)
    try:

        async def booted_line() -> bool:
            return f"{BOOT_LINE} {guest.uuid}" in await driver.get_console_output(guest.uuid)

        await until(booted_line, "the guest's boot line")
        yield guest
    finally:
        await driver.destroy(guest.uuid)


async def test_grub_loads_the_kernel_from_ext4_on_gpt(driver: QemuDriver, booted: Guest) -> None:
    console = await driver.get_console_output(booted.uuid)
    # GRUB read grub.cfg from the root filesystem and said so on the serial port (its
    # boot.img prints through the BIOS, which has no serial console here); the kernel
    # shows the command line GRUB's `linux` gave it; then the guest's userland came up.
    grub_cfg = console.index(GRUB_LINE)
    kernel = console.index(f"Command line: BOOT_IMAGE=/boot/vmlinuz {KERNEL_CMDLINE}")
    assert grub_cfg < kernel < console.index(f"{BOOT_LINE} {booted.uuid}")
    assert booted.direct_boot is None
    root = await disks.info(driver.layout.instance(booted.uuid).disk)
    assert (root.format, root.virtual_size) == ("qcow2", 1 << 30)


async def test_the_disk_is_laid_out_like_debians_cloud_images(
    cloud_layout_image: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "disk.raw"
    await run("qemu-img", "convert", "-O", "raw", str(cloud_layout_image), str(raw))
    table = json.loads(await run("sfdisk", "--json", str(raw)))["partitiontable"]
    assert table["label"] == "gpt"
    found = {int(p["node"].removeprefix(str(raw))): p for p in table["partitions"]}
    assert {number: p["type"] for number, p in found.items()} == {
        number: kind for number, _, _, kind in (BIOS_BOOT, ESP, ROOT)
    }
    # The root is the last partition, as Debian's, behind the BIOS boot and EFI ones.
    assert found[1]["start"] > found[15]["start"] > found[14]["start"]


async def test_a_2_gib_variant_does_not_fit_a_1_gb_flavor(
    driver: QemuDriver, cloud_layout_image: Path, tmp_path: Path
) -> None:
    """Debian's genericcloud image is 2 GiB virtual; m1.tiny's root disk is 1 GB."""
    large = tmp_path / "large.qcow2"
    shutil.copyfile(cloud_layout_image, large)
    await run("qemu-img", "resize", "-q", str(large), "2G")
    guest = image_guest(large, "too-large", "")
    try:
        with pytest.raises(disks.ImageUnusable, match="Flavor's disk is too small"):
            await driver.spawn(guest)
    finally:
        await driver.destroy(guest.uuid)
    assert not driver.layout.instance(guest.uuid).path.exists()
