"""Removing base images no guest uses any more, as Nova's image cache manager does.

A base (`_base/<image id>`: a root disk's backing file, or a kernel or initramfs booted
directly) is in use while a directory under the instances path refers to it: the backing
file of its root or rescue disk, or the kernel or initrd of its launch spec. Every
directory counts, kept resize sources included, so a base a revert needs stays. An unused
base goes once it has not been used for `max_unused_age` seconds (Nova's
`remove_unused_original_minimum_age_seconds`, a day by default), so an image booted now
and then is not fetched again each time. A base's last use is its mtime: fetching an
existing base touches it (disks.fetch_base).
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

from nimbus.virt.qemu.layout import BASE_DIR, InstanceDir, Layout

_QCOW2_MAGIC = b"QFI\xfb"
#: The files of a guest directory that may name a base: qcow2 disks with a backing file.
_OVERLAYS = ("disk", "disk.rescue")


def backing_file(path: Path) -> str | None:
    """The backing file a qcow2 image's header names (None: not qcow2, or no backing).
    Read from the header directly: a scan over every guest must not start a qemu-img
    per disk, and a running guest's lock does not stop a plain read."""
    try:
        with path.open("rb") as disk:
            header = disk.read(20)
            if len(header) < 20 or header[:4] != _QCOW2_MAGIC:
                return None
            offset, size = struct.unpack(">QI", header[8:20])
            if not offset or not size:
                return None
            disk.seek(offset)
            return disk.read(size).decode(errors="replace")
    except FileNotFoundError:
        return None


def _named_by(directory: InstanceDir) -> set[Path]:
    named = {backing_file(directory.path / name) for name in _OVERLAYS}
    try:
        spec = json.loads(directory.spec.read_text())
    except (FileNotFoundError, ValueError):
        spec = {}
    named |= {spec.get("kernel"), spec.get("initrd")}
    return {Path(name) for name in named if name}


def bases_in_use(layout: Layout) -> set[Path]:
    """Every base some directory under the instances path refers to."""
    if not layout.root.is_dir():
        return set()
    used: set[Path] = set()
    for entry in layout.root.iterdir():
        if entry.is_dir() and entry.name != BASE_DIR:
            used |= _named_by(InstanceDir(entry))
    return used


def image_id(base: Path) -> str:
    """The image a file under `_base/` belongs to: its name, or for a partial file
    (`.<image id>.<random>.fetched`, `.part`, `.raw`: disks.py) the part after the dot."""
    return base.name.lstrip(".").split(".")[0]


def unused_bases(layout: Layout, max_unused_age: float) -> list[Path]:
    """The bases nothing refers to that have not been used for `max_unused_age` s, and
    the partial files (`.<image id>…`) of fetches abandoned as long ago: a fetch writes
    its partial file all along, but a spawn cancelled mid-fetch (a build timeout) cannot
    stop the copying thread from finishing one after the spawn's cleanup."""
    bases = layout.root / BASE_DIR
    if not bases.is_dir():
        return []
    used = {path.resolve() for path in bases_in_use(layout)}
    cutoff = time.time() - max_unused_age
    return sorted(
        base
        for base in bases.iterdir()
        if base.is_file() and base.resolve() not in used and base.stat().st_mtime <= cutoff
    )
