"""Building the guest image: the CLI, the cache key, concurrent builders.

The builds here reuse the debs the `guest_image` fixture downloaded (hard links into a
private cache), so they cost a few seconds of CPU and no network.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from nimbus import cli
from nimbus.guest import build, cached_image
from nimbus.guest.packages import Package

pytestmark = pytest.mark.system


@pytest.fixture
def cache(tmp_path: Path, guest_image: Path) -> Path:
    """A fresh cache holding (links to) the debs already downloaded, and no image."""
    debs = tmp_path / "cache" / "debs"
    debs.mkdir(parents=True)
    for deb in (guest_image.parent / "debs").glob("*.deb"):
        os.link(deb, debs / deb.name)
    return tmp_path / "cache"


def _qemu_img_info(path: Path) -> str:
    return subprocess.run(
        ["qemu-img", "info", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_image_build_command_writes_a_whole_disk_qcow2(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out" / "guest.qcow2"
    assert cli.main(["image", "build", "--output", str(output), "--cache-dir", str(cache)]) == 0
    assert str(output) in capsys.readouterr().out
    info = _qemu_img_info(output)
    assert "file format: qcow2" in info
    assert "virtual size: 128 MiB" in info
    kernel, initrd = build.boot_files(output)
    assert kernel.stat().st_size > 1_000_000
    assert initrd.read_bytes()[:2] == b"\x1f\x8b"  # a gzip'd cpio


def test_concurrent_callers_share_one_build(cache: Path) -> None:
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cached_image(cache))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert results[0] == results[1]
    images = list(cache.glob("*.qcow2"))
    assert images == [results[0]]
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no leftovers
    mtime = results[0].stat().st_mtime_ns
    assert cached_image(cache) == results[0]
    assert results[0].stat().st_mtime_ns == mtime  # found, not rebuilt


def test_cache_key_follows_package_versions() -> None:
    base = [Package("busybox-static", "1:1.35.0-4", "amd64")]
    newer = [Package("busybox-static", "1:1.35.0-5", "amd64")]
    assert build.input_key(base) == build.input_key(list(base))
    assert build.input_key(base) != build.input_key(newer)
