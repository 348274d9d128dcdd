"""Running the host's network tools (ip, bridge, nft, dnsmasq, sysctl) without blocking the
event loop, with the tool's complaint as the error."""

from __future__ import annotations

import asyncio


class NetdevError(Exception):
    """A network tool refused a change; the message carries its stderr."""


async def run(*argv: str, stdin: str | None = None, netns: str | None = None) -> str:
    """Run `argv` (inside network namespace `netns` if given); its stdout, or NetdevError."""
    if netns is not None:
        argv = ("ip", "netns", "exec", netns, *argv)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise NetdevError(f"{argv[0]} is not installed on this host") from None
    out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    if process.returncode != 0:
        complaint = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
        raise NetdevError(f"{' '.join(argv)}: {complaint}")
    return out.decode(errors="replace")
