"""The QEMU driver's image cache: which bases are in use, and removing the others once
they have been unused long enough (real qemu-img overlays, no guest started)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from nimbus.virt.qemu import disks, imagecache
from nimbus.virt.qemu.driver import QemuDriver
from nimbus.virt.qemu.layout import Layout

HOUR = 3600.0
UUIDS = ("6a3c1e52-1f0b-4c47-9b7e-0a4b3c2d1e0f", "7b4d2f63-2a1c-4d58-8c8f-1b5c4d3e2f10")


def _base(layout: Layout, image_id: str, *, age: float = 0.0) -> Path:
    base = layout.base(image_id)
    base.parent.mkdir(parents=True, exist_ok=True)
    with base.open("wb") as handle:
        handle.truncate(1 << 20)
    when = time.time() - age
    os.utime(base, (when, when))
    return base


def _overlay(path: Path, base: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(base), str(path)],
        check=True,
    )


def _cache(tmp_path: Path) -> tuple[Layout, dict[str, Path]]:
    """A guest on base `root` with a direct-boot kernel, a kept resize source on base
    `kept`, a rescued guest's rescue base, and two bases nobody uses, one old, one new."""
    layout = Layout(tmp_path / "instances")
    bases = {
        name: _base(layout, name, age=2 * HOUR)
        for name in ("root", "kernel", "kept", "rescue", "old")
    }
    bases["new"] = _base(layout, "new")
    guest = layout.instance(UUIDS[0])
    _overlay(guest.disk, bases["root"])
    guest.spec.write_text(json.dumps({"kernel": str(bases["kernel"]), "initrd": None}))
    _overlay(layout.resize_kept(UUIDS[1]).disk, bases["kept"])
    _overlay(layout.instance(UUIDS[1]).rescue_disk, bases["rescue"])
    return layout, bases


def test_the_backing_file_is_read_from_the_qcow2_header(tmp_path: Path) -> None:
    layout, bases = _cache(tmp_path)
    assert imagecache.backing_file(layout.instance(UUIDS[0]).disk) == str(bases["root"])
    assert imagecache.backing_file(bases["root"]) is None  # raw: no header
    assert imagecache.backing_file(tmp_path / "absent") is None


def test_bases_named_by_any_guest_directory_are_in_use(tmp_path: Path) -> None:
    layout, bases = _cache(tmp_path)
    used = imagecache.bases_in_use(layout)
    assert used == {bases[name] for name in ("root", "kernel", "kept", "rescue")}


def test_only_bases_unused_for_the_age_are_unused(tmp_path: Path) -> None:
    layout, bases = _cache(tmp_path)
    assert imagecache.unused_bases(layout, HOUR) == [bases["old"]]
    assert imagecache.unused_bases(layout, 0) == [bases["new"], bases["old"]]
    assert imagecache.unused_bases(layout, 3 * HOUR) == []


def test_partial_files_of_abandoned_fetches_age_out_like_bases(tmp_path: Path) -> None:
    layout, bases = _cache(tmp_path)
    abandoned = _base(layout, ".old.1f2e.fetched", age=2 * HOUR)
    _base(layout, ".new.3c4d.part")  # being written now
    assert imagecache.unused_bases(layout, HOUR) == [abandoned, bases["old"]]
    assert imagecache.image_id(abandoned) == "old" == imagecache.image_id(bases["old"])


async def test_a_fetch_of_an_existing_base_counts_as_a_use(tmp_path: Path) -> None:
    layout, bases = _cache(tmp_path)
    await disks.fetch_base(tmp_path / "not read again", bases["old"], None)
    assert imagecache.unused_bases(layout, HOUR) == []


async def test_the_driver_removes_bases_unused_for_its_age(tmp_path: Path) -> None:
    layout, bases = _cache(tmp_path)
    driver = QemuDriver(layout.root, image_cache_max_age=HOUR)
    await driver.manage_image_cache()
    left = sorted(p.name for p in (layout.root / "_base").iterdir())
    assert left == ["kept", "kernel", "new", "rescue", "root"]
    assert bases["root"].exists() and not bases["old"].exists()
