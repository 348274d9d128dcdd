"""Fixtures of the system tests: the QEMU driver driven directly, and the database of
a scale-out cloud (tests/system/scale_out.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from nimbus.virt.qemu.driver import QemuDriver
from tests.db.conftest import server_database
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


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for a scale-out cloud, dropped afterwards."""
    async for url in server_database("postgresql"):
        yield url
