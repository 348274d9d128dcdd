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
    out, err = await process.communicate()
    if process.returncode != 0:
        complaint = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
        raise DriverError(f"{argv[0]} failed: {complaint}")
    return out.decode(errors="replace")
