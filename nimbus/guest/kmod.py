"""The kernel modules the guest loads (the initramfs for its root disk, the root's
boot script for the rest), in dependency order.

The Debian cloud kernel builds virtio, the disk/cdrom stack, ISO 9660, evdev and the
ACPI button as modules, and its package carries no modules.dep (depmod runs at install
time), so the dependencies are read from each module's `.modinfo` section here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

#: Stage one of the initramfs: what a virtio root disk needs (virtio-blk or virtio-scsi).
ROOT_DISK = ("virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod")
#: Stage two, only when no root appeared: an IDE root disk (slow to probe, so not always).
IDE_DISK = ("ata_piix", "sd_mod")
#: Everything the running guest loads (after the boot line): the above, the NIC, the
#: entropy source, IDE/SCSI cdroms and ISO 9660 (config drive), and the ACPI power
#: button reported through evdev (acpid). Dependencies are added by `load_order`.
ALL = (
    *ROOT_DISK,
    "virtio_net",
    "virtio_rng",
    *IDE_DISK,
    "sr_mod",
    "isofs",
    "button",
    "evdev",
)


def _modinfo(path: Path) -> dict[str, str]:
    """The key=value pairs of an ELF64 module's `.modinfo` section."""
    data = path.read_bytes()
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + index * shentsize
        )
        return name, offset, size

    _, names, _ = section(shstrndx)
    for index in range(shnum):
        name, offset, size = section(index)
        if data[names + name : data.index(b"\0", names + name)] == b".modinfo":
            pairs = (f.decode(errors="replace") for f in data[offset : offset + size].split(b"\0"))
            return dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    return {}


def _index(modules_dir: Path) -> dict[str, Path]:
    """Module name (dashes as underscores, as the kernel spells it) → file."""
    return {p.stem.replace("-", "_"): p for p in modules_dir.rglob("*.ko")}


def load_order(modules_dir: Path, wanted: Iterable[str]) -> list[Path]:
    """The files of `wanted` and their dependencies, each after what it depends on."""
    index = _index(modules_dir)
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        try:
            path = index[name]
        except KeyError:
            raise FileNotFoundError(f"kernel module {name} is not in {modules_dir}") from None
        for dep in filter(None, _modinfo(path).get("depends", "").split(",")):
            visit(dep.replace("-", "_"))
        order.append(path)

    for name in wanted:
        visit(name)
    return order
