"""A small asyncio client of the QEMU Machine Protocol over a unix socket.

One connection per conversation: the driver connects, negotiates capabilities, runs
a few commands (and waits for the events they cause), and closes. Nothing is held
between operations, so an agent restart finds every guest exactly as reachable as
before. QEMU errors become `QmpError` (a `DriverError`), so the agent records their
message as the instance's fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from nimbus.virt.driver import DriverError

#: A QMP greeting or reply larger than this is not one QEMU would send.
_LINE_LIMIT = 1 << 20
#: sun_path holds 108 bytes; longer socket paths are reached through a directory fd.
_SUN_PATH_MAX = 107


class QmpError(DriverError):
    """QEMU refused a command (the `error` member of its reply) or went away."""

    def __init__(self, message: str, error_class: str = "") -> None:
        super().__init__(message)
        self.error_class = error_class


class QmpClosed(QmpError):
    """The connection ended (QEMU exited) before the awaited reply or event."""


class Qmp:
    """One negotiated QMP connection. Use `connect`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._next_id = 0
        self._replies: dict[str, asyncio.Future[Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._closed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    async def _negotiate(self, timeout: float) -> None:
        greeting = await asyncio.wait_for(self._reader.readline(), timeout)
        if not greeting:
            raise QmpClosed("QEMU hung up before greeting")
        if b"QMP" not in greeting:
            raise QmpError(f"not a QMP greeting: {greeting[:80]!r}")
        self._pump = asyncio.create_task(self._read_forever(), name="qmp-reader")
        await asyncio.wait_for(self.execute("qmp_capabilities"), timeout)

    async def _read_forever(self) -> None:
        try:
            while line := await self._reader.readline():
                message = json.loads(line)
                if "event" in message:
                    async with self._arrived:
                        self._events.append(message)
                        self._arrived.notify_all()
                    continue
                future = self._replies.pop(str(message.get("id")), None)
                if future is not None and not future.done():
                    future.set_result(message)
        except (ConnectionError, ValueError):
            pass
        finally:
            self._closed.set()
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(QmpClosed("QEMU closed the QMP connection"))
            async with self._arrived:
                self._arrived.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def execute(self, command: str, **arguments: Any) -> Any:
        """Run `command`; its `return` value, or QmpError with QEMU's description."""
        if self.closed:
            raise QmpClosed(f"QEMU went away before {command}")
        self._next_id += 1
        ident = str(self._next_id)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[ident] = future
        request: dict[str, Any] = {"execute": command, "id": ident}
        if arguments:
            request["arguments"] = arguments
        try:
            self._writer.write(json.dumps(request).encode() + b"\n")
            await self._writer.drain()
        except ConnectionError:
            self._replies.pop(ident, None)
            raise QmpClosed(f"QEMU went away before {command}") from None
        reply = await future
        if "error" in reply:
            error = reply["error"]
            raise QmpError(
                f"QEMU refused {command}: {error.get('desc', error)}", error.get("class", "")
            )
        return reply.get("return")

    async def event(self, *names: str, timeout: float) -> dict[str, Any]:
        """The first event among `names` received on this connection (also one that
        arrived before the call), consumed; TimeoutError after `timeout` seconds,
        QmpClosed if QEMU exits first."""

        def take() -> dict[str, Any] | None:
            for index, event in enumerate(self._events):
                if event["event"] in names:
                    return self._events.pop(index)
            return None

        async def wait() -> dict[str, Any]:
            async with self._arrived:
                while (found := take()) is None:
                    if self.closed:
                        raise QmpClosed(f"QEMU exited before {'/'.join(names)}")
                    await self._arrived.wait()
                return found

        return await asyncio.wait_for(wait(), timeout)

    async def wait_closed(self, timeout: float) -> None:
        """Until QEMU closes the connection (it exits); TimeoutError otherwise."""
        await asyncio.wait_for(self._closed.wait(), timeout)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


async def _open(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if len(str(path)) <= _SUN_PATH_MAX:
        return await asyncio.open_unix_connection(str(path), limit=_LINE_LIMIT)
    directory = os.open(path.parent, os.O_PATH)
    try:
        return await asyncio.open_unix_connection(
            f"/proc/self/fd/{directory}/{path.name}", limit=_LINE_LIMIT
        )
    finally:
        os.close(directory)


@contextlib.asynccontextmanager
async def connect(path: Path, timeout: float = 5.0) -> AsyncIterator[Qmp]:
    """A negotiated connection to the QMP socket at `path`, closed on exit.

    QmpClosed when nothing listens there (QEMU is not running).
    """
    try:
        reader, writer = await asyncio.wait_for(_open(path), timeout)
    except (FileNotFoundError, ConnectionError) as error:
        raise QmpClosed(f"no QEMU listens on {path}: {error}") from None
    qmp = Qmp(reader, writer)
    try:
        try:
            await qmp._negotiate(timeout)
        except ConnectionError as error:
            raise QmpClosed(f"QEMU hung up: {error}") from None
        yield qmp
    finally:
        await qmp.close()
