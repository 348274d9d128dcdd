"""A guest's disks, made with qemu-img and mkfs: the cached base image, the root overlay,
ephemeral and swap disks, and snapshot copies.

The base image of every image id is fetched once, verified against the image service's
sha512 (`os_hash_value`) while it is copied, checked, stored as raw and never written
again: every root disk is a qcow2 overlay on it. Raw, as Nova's `force_raw_images`
default does: a guest reads its base at every boot (the bootloader reads the kernel
through the BIOS), and inflating compressed qcow2 clusters on each read cost the nimbus
guest ≈ 0.4 s of its boot under TCG. An image is checked before any guest is made from
it, so a build from data that is not a bootable disk, or that is larger than the
flavor's root disk, fails with a message that says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimbus.virt.driver import ImageUnusable
from nimbus.virt.qemu.commands import run

GIB = 1 << 30
_BLOCK = 1 << 20
#: Formats QEMU can boot a root disk from (the image service's disk_format names).
BOOTABLE_FORMATS = ("raw", "qcow2")


@dataclass(frozen=True)
class DiskInfo:
    format: str
    virtual_size: int
    backing_file: str | None


async def info(path: Path) -> DiskInfo:
    """What qemu-img sees in `path` (`-U`: the disk may belong to a running guest)."""
    facts: dict[str, Any] = json.loads(
        await run("qemu-img", "info", "-U", "--output=json", str(path))
    )
    return DiskInfo(facts["format"], int(facts["virtual-size"]), facts.get("backing-filename"))


def _copy_verified(source: Path, target: Path, sha512: str | None) -> None:
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    digest = hashlib.sha512()
    try:
        with source.open("rb") as reader, partial.open("wb") as writer:
            while block := reader.read(_BLOCK):
                digest.update(block)
                writer.write(block)
        if sha512 and digest.hexdigest() != sha512:
            raise ImageUnusable(
                f"image data of {target.name} does not match its os_hash_value (sha512)"
            )
        partial.chmod(0o444)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


async def fetch_base(source: Path, target: Path, sha512: str | None) -> None:
    """Copy the image data at `source` to the shared base `target` once, checking its
    sha512 on the way; a copy that does not match is never kept. An existing base is
    touched instead: its mtime is when it was last used (imagecache.py)."""
    if target.exists():
        await asyncio.to_thread(os.utime, target)
        return
    if not source.is_file():
        raise ImageUnusable(f"the image service has no data for image {target.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_copy_verified, source, target, sha512)


async def fetch_disk_base(
    source: Path,
    target: Path,
    sha512: str | None,
    declared_format: str | None,
    *,
    bootloader: bool = True,
) -> None:
    """The root disk base `target` of the image at `source`, made once: fetched and
    verified, checked (`check_image`), then kept as raw. `bootloader`: the disk must
    boot by itself (False when the image names a kernel to boot directly, as a bare
    filesystem image may)."""
    if target.exists():
        await asyncio.to_thread(os.utime, target)
        return
    fetched = target.with_name(f".{target.name}.{uuid.uuid4().hex}.fetched")
    try:
        await fetch_base(source, fetched, sha512)
        found = await check_image(fetched, declared_format)
        if found.format == "raw":
            await asyncio.to_thread(os.replace, fetched, target)
        else:
            await _as_raw(fetched, target)
        if bootloader and not await asyncio.to_thread(_has_boot_sector, target):
            await asyncio.to_thread(target.unlink)
            raise ImageUnusable("image is not a bootable disk (no boot sector)")
    finally:
        fetched.unlink(missing_ok=True)


async def _as_raw(source: Path, target: Path) -> None:
    """`source` converted to a sparse raw file at `target`, landing by rename."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.raw")
    try:
        await run("qemu-img", "convert", "-O", "raw", str(source), str(partial))
        await asyncio.to_thread(partial.chmod, 0o444)
        await asyncio.to_thread(os.replace, partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _has_boot_sector(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(510)
        return handle.read(2) == b"\x55\xaa"


async def check_image(base: Path, declared_format: str | None) -> DiskInfo:
    """The facts of image data a guest's root disk can be made from; ImageUnusable
    saying why not otherwise."""
    found = await info(base)
    if found.format not in BOOTABLE_FORMATS:
        raise ImageUnusable(f"image is {found.format} data, not a disk image QEMU can boot")
    if declared_format and declared_format != found.format:
        raise ImageUnusable(
            f"image data is {found.format} but its disk_format says {declared_format}"
        )
    if found.backing_file:
        raise ImageUnusable("image is a qcow2 overlay with a backing file; upload it whole")
    return found


async def check_fits(base: Path, root_gb: int) -> DiskInfo:
    """The base's facts; ImageUnusable when the image is larger than a root disk of
    `root_gb` (0: the flavor takes the image's own size)."""
    found = await info(base)
    if root_gb and found.virtual_size > root_gb * GIB:
        raise ImageUnusable(
            "Flavor's disk is too small for requested image. Flavor disk is "
            f"{root_gb * GIB} bytes, image is {found.virtual_size} bytes."
        )
    return found


async def create_root(disk: Path, base: Path, base_format: str, root_gb: int) -> None:
    """A qcow2 overlay on `base`, as large as the flavor's root disk (or the image)."""
    size = [str(root_gb * GIB)] if root_gb else []
    await run(
        "qemu-img", "create", "-q", "-f", "qcow2", "-F", base_format, "-b", str(base),
        str(disk), *size,
    )  # fmt: skip


async def grow(disk: Path, root_gb: int) -> None:
    """Make `disk` `root_gb` large if it is smaller (disks never shrink)."""
    if root_gb and (await info(disk)).virtual_size < root_gb * GIB:
        await run("qemu-img", "resize", "-q", str(disk), str(root_gb * GIB))


async def _sparse(path: Path, size: int) -> None:
    def make() -> None:
        with path.open("wb") as handle:
            handle.truncate(size)

    await asyncio.to_thread(make)


async def create_ephemeral(path: Path, gb: int) -> None:
    """A blank ext4 disk labelled as cloud-init looks for it (`ephemeral0`)."""
    await _sparse(path, gb * GIB)
    await run("mkfs.ext4", "-q", "-F", "-L", "ephemeral0", str(path))


async def create_swap(path: Path, mb: int) -> None:
    await _sparse(path, mb << 20)
    await run("mkswap", "-L", "swap", str(path))


async def convert(source: Path, target: Path, disk_format: str) -> None:
    """A standalone copy of `source` (overlay and base merged) in `disk_format`.

    `-U` because the guest's QEMU holds the disk's lock; the caller pauses the guest
    first so that the copy is consistent.
    """
    await run("qemu-img", "convert", "-U", "-O", disk_format, str(source), str(target))
