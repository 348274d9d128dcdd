"""What the real-guest tests share: waiting for a guest's console to show something,
finding the QEMU processes of an instances directory, and killing them all at the end
whatever happened."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from nimbus.virt.driver import Guest, Nic

#: A TCG boot takes ≈ 5 s on an idle 2-core machine; other tests may share the cores.
BOOT_TIMEOUT = 120.0

_TICK = re.compile(r"^uptime-tick (\d+\.\d+)\r?$", re.MULTILINE)

#: A user_data script: says it ran, leaves a file, then prints the guest's uptime
#: every second (straight to the serial port, detached from the user_data runner).
TICKER_USER_DATA = """#!/bin/sh
echo "user-data-ran on $(hostname)"
echo "written by the first boot" > /root/first-boot && sync
( while true; do echo "uptime-tick $(cut -d' ' -f1 /proc/uptime)"; sleep 1; done ) \\
    > /dev/ttyS0 2>&1 < /dev/null &
"""


needs_qemu = pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"
)


def qemu_pids(instances: Path) -> dict[str, int]:
    """Instance uuid → pid of every live QEMU whose pidfile is under `instances`."""
    found: dict[str, int] = {}
    for pidfile in instances.glob("*/qemu.pid"):
        try:
            pid = int(pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError):
            continue
        uuid = pidfile.parent.name.removesuffix("_resize")
        if state != "Z" and uuid.encode() in cmdline.split(b"\0"):
            found[uuid] = pid
    return found


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def kill_all(instances: Path) -> None:
    """SIGKILL every QEMU of `instances` (test teardown: nothing may outlive a test)."""
    for pid in qemu_pids(instances).values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while qemu_pids(instances) and time.monotonic() < deadline:
        time.sleep(0.05)


async def until(
    probe: Callable[[], Awaitable[bool]], what: str, timeout: float = BOOT_TIMEOUT
) -> None:
    """Poll `probe` until it holds; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.25)


def ticks(console: str) -> list[float]:
    """The uptimes the ticker printed, in order."""
    return [float(found) for found in _TICK.findall(console)]

#: The compute host name the QEMU driver tests give their drivers.
DRIVER_HOST = "qemu-test-host"


def image_guest(guest_image: Path, name: str, user_data: str) -> Guest:
    """A 256 MB, 1 GB-disk guest of the built guest image with a NIC and a `#!`
    user_data script: what the driver-level tests boot."""
    ident = str(uuid.uuid4())
    return Guest(
        uuid=ident,
        name=name,
        vcpus=1,
        memory_mb=256,
        root_gb=1,
        image_ref=f"image-{ident[:8]}",
        image_path=guest_image,
        image_format="qcow2",
        image_hash=hashlib.sha512(guest_image.read_bytes()).hexdigest(),
        user_data=base64.b64encode(user_data.encode()).decode(),
        hostname=name,
        nics=(Nic.of(ident),),
    )
