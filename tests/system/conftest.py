"""Fixtures of the system tests that drive the QEMU driver directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nimbus.virt.qemu.driver import QemuDriver
from tests.system.qemu_support import DRIVER_HOST, kill_all


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A module's instances directory; every QEMU started in it dies at the end."""
    path = tmp_path_factory.mktemp("qemu-driver") / "instances"
    try:
        yield path
    finally:
        kill_all(path)


@pytest.fixture(scope="module")
async def driver(instances: Path) -> QemuDriver:
    """A QEMU driver on the module's instances directory, ready for guests."""
    made = QemuDriver(instances, shutdown_timeout=30)
    await made.init_host(DRIVER_HOST)
    return made
