"""Building the guest image from Debian packages, and the cache of built images.

An image in the cache is named by a hash of its inputs — the exact package versions
apt would use and the builder's own files — so a new kernel in the archive or a changed
boot script gives a new image, and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from nimbus.guest import disk, packages
from nimbus.guest.cpio import write_initramfs
from nimbus.guest.rootfs import build_initramfs_tree, build_rootfs

IMAGE_NAME = "nimbus-guest"
KERNEL_META = "linux-image-cloud-amd64"
#: The userland: busybox, the SSH server, resize2fs (dependencies follow).
USERLAND = ("busybox-static", "dropbear-bin", "e2fsprogs")
BOOTLOADER = "syslinux-common"  # its MBR boot code; the host's syslinux installs the rest
MBR = "usr/lib/syslinux/mbr/mbr.bin"
_BUILDER = Path(__file__).parent


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "nimbus" / "guest"


def boot_files(image: Path) -> tuple[Path, Path]:
    """The kernel and initramfs built with `image`, kept beside it for direct kernel
    boot (`-kernel`/`-initrd`/`-append disk.KERNEL_CMDLINE`)."""
    return image.with_suffix(".vmlinuz"), image.with_suffix(".initrd")


def _inputs() -> tuple[str, list[packages.Package]]:
    """The kernel package's name and every package the image is made of."""
    kernel = next(
        name for name in packages.depends_of(KERNEL_META) if name.startswith("linux-image-")
    )
    names = [kernel, BOOTLOADER, *packages.dependency_closure(USERLAND)]
    return kernel, packages.resolve(names)


def input_key(inputs: list[packages.Package]) -> str:
    """A short hash of the package versions and of this builder's files."""
    digest = hashlib.sha256()
    for package in sorted(inputs, key=lambda p: p.name):
        digest.update(f"{package.name}={package.version}\n".encode())
    for path in sorted(_BUILDER.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(_BUILDER).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_image(dest: Path, *, cache_dir: Path | None = None) -> Path:
    """Build the qcow2 whole-disk image at `dest` (and its boot files beside it);
    blocking, minutes on a cold cache (the kernel package is ≈ 27 MB)."""
    kernel, inputs = _inputs()
    return _build(Path(dest), kernel, inputs, cache_dir or default_cache_dir())


def cached_image(cache_dir: Path | None = None) -> Path:
    """The image for the current inputs in the cache, built only when missing. Builds
    are serialised by a lock and land by rename, so concurrent callers are safe."""
    cache_dir = cache_dir or default_cache_dir()
    kernel, inputs = _inputs()
    image = cache_dir / f"{IMAGE_NAME}-{input_key(inputs)}.qcow2"
    if not image.is_file():
        with packages.locked(cache_dir / "image.lock"):
            if not image.is_file():
                _build(image, kernel, inputs, cache_dir)
    return image


def _build(dest: Path, kernel: str, inputs: list[packages.Package], cache_dir: Path) -> Path:
    trees = packages.unpacked(inputs, cache_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        work = Path(tmp)
        build_rootfs(work / "root", trees, trees[kernel])
        build_initramfs_tree(
            work / "initramfs", trees["busybox-static"] / "bin/busybox", trees[kernel]
        )
        initrd = work / "initrd.img"
        write_initramfs(work / "initramfs", initrd)
        vmlinuz = next((trees[kernel] / "boot").glob("vmlinuz-*"))
        raw = work / "disk.raw"
        disk.write_raw_disk(
            raw, kernel=vmlinuz, initrd=initrd, rootfs=work / "root", mbr=trees[BOOTLOADER] / MBR
        )
        disk.to_qcow2(raw, work / "image.qcow2")
        kernel_file, initrd_file = boot_files(dest)
        shutil.copyfile(vmlinuz, work / "vmlinuz")
        os.replace(work / "vmlinuz", kernel_file)
        os.replace(initrd, initrd_file)
        os.replace(work / "image.qcow2", dest)  # last: its presence means complete
    return dest
