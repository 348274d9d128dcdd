"""The `guest_image` fixture: the nimbus guest image (qcow2), built once per cache.

Registered for every test by `pytest_plugins` in tests/conftest.py. The first run on a
machine downloads ≈ 29 MB of Debian packages; later runs find the image in the cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: What building and booting the image needs on the host.
_TOOLS = (
    "qemu-system-x86_64",
    "qemu-img",
    "apt-get",
    "dpkg-deb",
    "sfdisk",
    "mkfs.fat",
    "mcopy",
    "syslinux",
    "mkfs.ext4",
)


@pytest.fixture(scope="session")
def guest_image() -> Path:
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the guest image needs {', '.join(missing)} (scripts/install-deps.sh)")
    from nimbus.guest import cached_image

    return cached_image()
