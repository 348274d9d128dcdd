"""The QMP client against a scripted QMP server on a unix socket (no QEMU)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from nimbus.virt.qemu import qmp

GREETING = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}}

#: Answers a request: the messages to send back (replies and events), in order.
Script = Callable[[dict[str, Any]], list[dict[str, Any]]]


def _reply(request: dict[str, Any], **member: Any) -> dict[str, Any]:
    return {"id": request["id"], **member}


def _standard(request: dict[str, Any]) -> list[dict[str, Any]]:
    command = request["execute"]
    if command == "qmp_capabilities":
        return [_reply(request, **{"return": {}})]
    if command == "query-status":
        return [_reply(request, **{"return": {"status": "running", "running": True}})]
    if command == "system_powerdown":
        return [_reply(request, **{"return": {}}), {"event": "POWERDOWN", "data": {}}]
    if command == "stop":
        # QEMU sends the event before the reply, as it does for a real `stop`.
        return [{"event": "STOP", "data": {}}, _reply(request, **{"return": {}})]
    return [
        _reply(
            request,
            error={"class": "CommandNotFound", "desc": f"The command {command} has not been found"},
        )
    ]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[Path, list[str]]]:
    """A QMP server speaking `_standard`; yields its socket and the commands it got.
    The command `quit` makes it hang up."""
    path = tmp_path / "qmp.sock"
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(json.dumps(GREETING).encode() + b"\r\n")
        while line := await reader.readline():
            request = json.loads(line)
            seen.append(request["execute"])
            if request["execute"] == "quit":
                break
            for message in _standard(request):
                writer.write(json.dumps(message).encode() + b"\r\n")
            await writer.drain()
        writer.close()

    listener = await asyncio.start_unix_server(serve, str(path))
    try:
        yield path, seen
    finally:
        listener.close()
        await listener.wait_closed()


async def test_negotiates_and_executes(server: tuple[Path, list[str]]) -> None:
    path, seen = server
    async with qmp.connect(path) as monitor:
        assert await monitor.execute("query-status") == {"status": "running", "running": True}
    assert seen == ["qmp_capabilities", "query-status"]


async def test_errors_carry_qemus_description_and_class(server: tuple[Path, list[str]]) -> None:
    async with qmp.connect(server[0]) as monitor:
        with pytest.raises(qmp.QmpError, match="has not been found") as raised:
            await monitor.execute("no-such-command")
    assert raised.value.error_class == "CommandNotFound"


async def test_events_are_awaited_even_when_they_came_before_the_reply(
    server: tuple[Path, list[str]],
) -> None:
    async with qmp.connect(server[0]) as monitor:
        await monitor.execute("stop")
        assert (await monitor.event("STOP", timeout=1))["event"] == "STOP"
        await monitor.execute("system_powerdown")
        assert (await monitor.event("SHUTDOWN", "POWERDOWN", timeout=1))["event"] == "POWERDOWN"
        with pytest.raises(TimeoutError):
            await monitor.event("STOP", timeout=0.1)  # consumed already


async def test_qemu_going_away_fails_waiters(server: tuple[Path, list[str]]) -> None:
    async with qmp.connect(server[0]) as monitor:
        waiter = asyncio.create_task(monitor.event("SHUTDOWN", timeout=5))
        await asyncio.sleep(0)
        with pytest.raises(qmp.QmpClosed):
            await monitor.execute("quit")
        with pytest.raises(qmp.QmpClosed):
            await waiter
        await monitor.wait_closed(1)
        with pytest.raises(qmp.QmpClosed):
            await monitor.execute("query-status")


async def test_nothing_listening_is_closed(tmp_path: Path) -> None:
    with pytest.raises(qmp.QmpClosed, match="no QEMU listens"):
        async with qmp.connect(tmp_path / "absent.sock"):
            pass


async def test_socket_paths_longer_than_sun_path_work(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = deep / "qmp.sock"
    assert len(str(path)) > 108

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(json.dumps(GREETING).encode() + b"\n")
        request = json.loads(await reader.readline())
        writer.write(json.dumps(_reply(request, **{"return": {}})).encode() + b"\n")
        await writer.drain()
        await reader.read()

    directory = os.open(deep, os.O_PATH)
    try:
        listener = await asyncio.start_unix_server(serve, f"/proc/self/fd/{directory}/{path.name}")
    finally:
        os.close(directory)
    try:
        async with qmp.connect(path) as monitor:
            assert not monitor.closed
    finally:
        listener.close()
        await listener.wait_closed()
