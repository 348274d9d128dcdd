"""The QEMU driver's disk handling with the real qemu-img, mkfs and genisoimage (no
guest is started): which images are refused and why, overlays, growth, copies, the
config drive's contents and the accelerator probe's sector."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import nimbus.virt.qemu
from nimbus.virt.driver import DriverError
from nimbus.virt.qemu import configdrive, disks
from nimbus.virt.qemu.accel import PROBE_SECTOR, PROBE_TIMEOUT, Accelerator, probe
from nimbus.virt.qemu.driver import QemuDriver

GIB = 1 << 30


def _raw_disk(path: Path, size: int = 1 << 20, *, bootable: bool = True) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
        if bootable:
            handle.seek(510)
            handle.write(b"\x55\xaa")
    return path


def _qcow2(path: Path, size: str, *backing: str) -> Path:
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", *backing, str(path), size], check=True
    )
    return path


async def test_base_is_fetched_once_and_verified(tmp_path: Path) -> None:
    source = _raw_disk(tmp_path / "data")
    base = tmp_path / "instances" / "_base" / "image-1"
    await disks.fetch_base(source, base, hashlib.sha512(source.read_bytes()).hexdigest())
    assert base.read_bytes() == source.read_bytes()
    source.write_bytes(b"changed")  # a second fetch does not copy again
    await disks.fetch_base(source, base, "whatever")
    assert base.stat().st_size == 1 << 20


async def test_a_base_that_does_not_match_its_hash_is_not_kept(tmp_path: Path) -> None:
    source = _raw_disk(tmp_path / "data")
    base = tmp_path / "_base" / "image-2"
    with pytest.raises(disks.ImageUnusable, match="does not match its os_hash_value"):
        await disks.fetch_base(source, base, "0" * 128)
    assert list(base.parent.iterdir()) == []


async def test_missing_image_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(disks.ImageUnusable, match="no data for image image-3"):
        await disks.fetch_base(tmp_path / "absent", tmp_path / "_base" / "image-3", None)


@pytest.mark.parametrize(
    ("make", "declared", "complaint"),
    [
        (lambda p: _raw_disk(p), "qcow2", "image data is raw but its disk_format says qcow2"),
        (lambda p: _qcow2(p, "1G", "-F", "raw", "-b", "/etc/passwd"), "qcow2", "backing file"),
        (lambda p: p.write_bytes(b"just some text\n" * 100) and p, "raw", "no boot sector"),
        (lambda p: _qcow2(p, "64M"), "qcow2", "no boot sector"),
    ],
)
async def test_images_that_cannot_be_a_root_disk_say_why_and_leave_no_base(
    tmp_path: Path, make, declared: str, complaint: str
) -> None:
    source = make(tmp_path / "data")
    base = tmp_path / "_base" / "image"
    with pytest.raises(disks.ImageUnusable, match=complaint):
        await disks.fetch_disk_base(source, base, None, declared)
    assert list(base.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("size", "root_gb", "complaint"),
    [(2 * GIB, 1, "Flavor's disk is too small"), (3 * GIB, 2, "disk is 2147483648 bytes")],
)
async def test_an_image_larger_than_the_flavor_disk_is_refused(
    tmp_path: Path, size: int, root_gb: int, complaint: str
) -> None:
    base = _raw_disk(tmp_path / "base", size)
    with pytest.raises(disks.ImageUnusable, match=complaint):
        await disks.check_fits(base, root_gb)
    assert (await disks.check_fits(base, 0)).virtual_size == size


async def test_a_qcow2_image_becomes_a_raw_base_with_the_same_contents(tmp_path: Path) -> None:
    raw = _raw_disk(tmp_path / "disk.raw", 8 << 20)
    with raw.open("r+b") as handle:
        handle.seek(3 << 20)
        handle.write(b"the guest's data")
    source = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-c", "-O", "qcow2", raw, source], check=True)
    base = tmp_path / "_base" / "image"
    sha512 = hashlib.sha512(source.read_bytes()).hexdigest()
    await disks.fetch_disk_base(source, base, sha512, "qcow2")
    assert (await disks.info(base)).format == "raw"
    assert base.read_bytes() == raw.read_bytes()
    assert [p.name for p in base.parent.iterdir()] == ["image"]  # no partial files left


async def test_a_kernel_booted_image_needs_no_boot_sector(tmp_path: Path) -> None:
    """A bare filesystem image with kernel_id (AMI style) has no MBR, and needs none."""
    source = _raw_disk(tmp_path / "fs", bootable=False)
    base = tmp_path / "_base" / "image"
    await disks.fetch_disk_base(source, base, None, "raw", bootloader=False)
    assert base.read_bytes() == source.read_bytes()


async def test_root_overlay_grows_to_the_flavor_or_keeps_the_image_size(tmp_path: Path) -> None:
    base = _qcow2(tmp_path / "base", "64M")
    found = await disks.check_fits(base, 1)
    assert (found.format, found.virtual_size) == ("qcow2", 64 << 20)
    sized, same = tmp_path / "sized", tmp_path / "same"
    await disks.create_root(sized, base, "qcow2", 1)
    await disks.create_root(same, base, "qcow2", 0)
    assert (await disks.info(sized)).virtual_size == GIB
    assert (await disks.info(sized)).backing_file == str(base)
    assert (await disks.info(same)).virtual_size == 64 << 20
    await disks.grow(same, 2)
    assert (await disks.info(same)).virtual_size == 2 * GIB
    await disks.grow(same, 1)  # never shrinks
    assert (await disks.info(same)).virtual_size == 2 * GIB


async def test_a_snapshot_copy_stands_alone(tmp_path: Path) -> None:
    base = _raw_disk(tmp_path / "base")
    overlay = tmp_path / "disk"
    await disks.create_root(overlay, base, "raw", 1)
    copy = tmp_path / "snap"
    await disks.convert(overlay, copy, "qcow2")
    found = await disks.info(copy)
    assert (found.format, found.virtual_size, found.backing_file) == ("qcow2", GIB, None)


async def test_ephemeral_and_swap_disks_are_formatted(tmp_path: Path) -> None:
    await disks.create_ephemeral(tmp_path / "eph", 1)
    await disks.create_swap(tmp_path / "swap", 16)
    blkid = subprocess.run(
        ["blkid", "-o", "export", str(tmp_path / "eph"), str(tmp_path / "swap")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "LABEL=ephemeral0" in blkid and "TYPE=ext4" in blkid
    assert "TYPE=swap" in blkid


async def test_failing_tools_raise_driver_errors_with_their_complaint(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match=r"qemu-img failed: .*No such file"):
        await disks.info(tmp_path / "absent")


def _iso_file(iso: Path, name: str) -> str:
    return subprocess.run(
        ["isoinfo", "-R", "-i", str(iso), "-x", name], capture_output=True, text=True, check=True
    ).stdout


async def test_config_drive_carries_metadata_user_data_and_network(tmp_path: Path) -> None:
    metadata = configdrive.Metadata(
        uuid="0d7f2a55-8a0e-4b1d-9a57-0a6f8f0a1b2c",
        name="vm1",
        hostname="vm1",
        availability_zone="nova",
        key_name="mykey",
        key_data="ssh-ed25519 AAAA test",
        meta={"role": "web"},
        user_data=b"#!/bin/sh\necho hi\n",
        macs=("fa:16:3e:0a:1b:2c",),
    )
    iso = tmp_path / "disk.config"
    await configdrive.build(iso, metadata)
    label = subprocess.run(["isoinfo", "-d", "-i", str(iso)], capture_output=True, text=True)
    assert "Volume id: config-2" in label.stdout
    for version in ("latest", configdrive.DATED_VERSION):
        meta = json.loads(_iso_file(iso, f"/openstack/{version}/meta_data.json"))
        assert meta["uuid"] == metadata.uuid and meta["hostname"] == "vm1"
        assert meta["public_keys"] == {"mykey": "ssh-ed25519 AAAA test"}
        assert meta["meta"] == {"role": "web"} and meta["launch_index"] == 0
        assert _iso_file(iso, f"/openstack/{version}/user_data") == "#!/bin/sh\necho hi\n"
        network = json.loads(_iso_file(iso, f"/openstack/{version}/network_data.json"))
        assert network["links"][0]["ethernet_mac_address"] == "fa:16:3e:0a:1b:2c"
        assert network["networks"][0]["type"] == "ipv4_dhcp"


async def test_the_probe_sector_reaches_protected_mode_under_tcg() -> None:
    """The KVM probe is only meaningful if its sector works where emulation does."""
    assert len(PROBE_SECTOR) == 512 and PROBE_SECTOR.endswith(b"\x55\xaa")
    assert await probe("tcg", timeout=20)


async def test_the_accelerator_is_remembered(tmp_path: Path) -> None:
    cache = tmp_path / "_accel.json"
    accel = Accelerator(cache, 32)
    accel._remember(False)
    assert await Accelerator(cache, 32).options() == ["-accel", "tcg,tb-size=32"]
    data = json.loads(cache.read_text())
    cache.write_text(json.dumps({**data, "kvm": True}))
    assert (await Accelerator(cache, 32).options())[:2] == ["-accel", "kvm"]
    cache.write_text(json.dumps({**data, "key": "another qemu", "kvm": True}))
    assert Accelerator(cache, 32)._cached() is None


async def test_the_accelerator_is_probed_when_the_driver_starts(tmp_path: Path) -> None:
    """Not at the first boot (3 s on a host whose KVM hangs), and without holding up
    the start: the answer is on disk before any guest exists."""
    driver = QemuDriver(tmp_path / "instances")
    started = time.monotonic()
    await driver.init_host("probe-host")
    assert time.monotonic() - started < PROBE_TIMEOUT
    deadline = started + PROBE_TIMEOUT + 10
    while not (tmp_path / "instances" / "_accel.json").exists():
        assert time.monotonic() < deadline, "no accelerator answer without a boot"
        await asyncio.sleep(0.05)


@pytest.mark.skipif(shutil.which("as") is None, reason="GNU as (binutils) is not installed")
def test_the_probe_sector_is_its_documented_source(tmp_path: Path) -> None:
    source = Path(nimbus.virt.qemu.__file__).parent / "probe.S"
    subprocess.run(["as", "--32", str(source), "-o", str(tmp_path / "p.o")], check=True)
    subprocess.run(
        ["objcopy", "-O", "binary", "-j", ".text", str(tmp_path / "p.o"), str(tmp_path / "p")],
        check=True,
    )
    assert (tmp_path / "p").read_bytes() == PROBE_SECTOR
