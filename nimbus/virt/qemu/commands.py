"""Running the host tools the QEMU driver relies on (qemu-img, genisoimage, mkfs…)
without blocking the event loop, with their complaint as the error."""

from __future__ import annotations

import asyncio

from nimbus.virt.driver import DriverError


async def run(*argv: str) -> str:
    """Run `argv` to completion; its stdout, or DriverError carrying its stderr."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise DriverError(f"{argv[0]} is not installed on this host") from None
    try:
        out, err = await process.communicate()
    except asyncio.CancelledError:
        # A cancelled caller (a build past its timeout) must not leave the tool running
        # and writing files the caller's cleanup has already removed.
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        complaint = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
        raise DriverError(f"{argv[0]} failed: {complaint}")
    return out.decode(errors="replace")
