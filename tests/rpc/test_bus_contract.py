"""The bus contract, checked on every transport: what services may rely on."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from nimbus.rpc import Bus, BusClosed, RemoteError, RPCTimeout

TOPIC = "compute"

#: The ``make_bus`` fixture: starts a bus on the test's transport and namespace,
#: with transport options to override if need be.
BusFactory = Callable[..., Awaitable[Bus]]


class Worker:
    """An endpoint that says who it is and remembers what it was told."""

    def __init__(self, name: str = "worker") -> None:
        self.name = name
        self.received: list[Any] = []

    async def whoami(self) -> str:
        return self.name

    async def add(self, a: int, b: int) -> int:
        return a + b

    async def echo(self, value: Any) -> Any:
        return value

    async def record(self, value: Any) -> None:
        self.received.append(value)

    async def sleep(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def fail(self, message: str) -> None:
        raise ValueError(message)

    async def unserialisable(self) -> object:
        return object()

    async def _private(self) -> str:
        return "secret"


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll for a condition that an asynchronous delivery makes true."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def serving(make_bus: BusFactory, *names: str, server: bool = True) -> list[Worker]:
    """Start one bus per name, each serving a Worker on TOPIC (directed at its name)."""
    workers = [Worker(name) for name in names]
    for worker in workers:
        bus = await make_bus()
        await bus.serve(TOPIC, worker, server=worker.name if server else None)
    return workers


async def test_call_returns_the_result(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    value = {"flavor": "m1.tiny", "disks": [1, 2.5, None], "ok": True}
    assert await client.call(TOPIC, "echo", value=value) == value


async def test_call_passes_keyword_arguments(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    assert await client.call(TOPIC, "add", a=2, b=40) == 42


async def test_directed_call_reaches_only_that_server(make_bus: BusFactory) -> None:
    await serving(make_bus, "host-a", "host-b.example.org")
    client = await make_bus()
    for _ in range(6):
        reply = await client.call(TOPIC, "whoami", server="host-b.example.org")
        assert reply == "host-b.example.org"


async def test_cast_reaches_exactly_one_of_competing_servers(make_bus: BusFactory) -> None:
    workers = await serving(make_bus, "a", "b", server=False)
    client = await make_bus()
    await asyncio.gather(*(client.cast(TOPIC, "record", value=i) for i in range(20)))
    await wait_until(lambda: sum(len(w.received) for w in workers) >= 20)
    await asyncio.sleep(0.1)  # room for a duplicate to show up
    assert sorted(workers[0].received + workers[1].received) == list(range(20))
    # The servers take turns; a server taking the whole burst would starve the other.
    assert all(len(worker.received) >= 5 for worker in workers), "servers should share work"


async def test_fanout_reaches_every_server(make_bus: BusFactory) -> None:
    workers = await serving(make_bus, "a", "b", "c")
    client = await make_bus()
    await client.fanout(TOPIC, "record", value="refresh")
    await wait_until(lambda: all(worker.received for worker in workers))
    await asyncio.sleep(0.1)
    assert [worker.received for worker in workers] == [["refresh"]] * 3


async def test_remote_exception_becomes_remote_error(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    with pytest.raises(RemoteError) as caught:
        await client.call(TOPIC, "fail", message="no valid host")
    assert (caught.value.exc_type, caught.value.message) == ("ValueError", "no valid host")


@pytest.mark.parametrize("method", ["no_such_method", "_private", "__init__"])
async def test_unknown_method_is_a_remote_error(make_bus: BusFactory, method: str) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    with pytest.raises(RemoteError) as caught:
        await client.call(TOPIC, method)
    assert caught.value.exc_type == "NoSuchMethod"


async def test_wrong_arguments_are_a_remote_type_error(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    with pytest.raises(RemoteError) as caught:
        await client.call(TOPIC, "add", a=1)
    assert caught.value.exc_type == "TypeError"


async def test_no_reply_in_time_raises_rpc_timeout(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    started = time.monotonic()
    with pytest.raises(RPCTimeout):
        await client.call(TOPIC, "sleep", seconds=5, timeout=0.3)
    with pytest.raises(TimeoutError):
        await client.call("nobody-serves-this", "whoami", timeout=0.3)
    assert time.monotonic() - started < 1.5


async def test_expired_call_is_not_run_by_a_late_server(make_bus: BusFactory) -> None:
    client = await make_bus()
    with pytest.raises(RPCTimeout):
        await client.call(TOPIC, "record", value="late", timeout=0.2)
    await asyncio.sleep(0.1)
    (worker,) = await serving(make_bus, "a")
    await client.cast(TOPIC, "record", value="fresh")
    await wait_until(lambda: "fresh" in worker.received)
    assert worker.received == ["fresh"]


async def test_one_slow_call_does_not_block_another(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    started = time.monotonic()
    await client.call(TOPIC, "sleep", seconds=0.4)
    single = time.monotonic() - started
    started = time.monotonic()
    await asyncio.gather(*(client.call(TOPIC, "sleep", seconds=0.4) for _ in range(2)))
    assert time.monotonic() - started < 1.8 * single


async def test_cast_before_any_server_is_delivered_when_one_serves(
    make_bus: BusFactory,
) -> None:
    client = await make_bus()
    await client.cast(TOPIC, "record", value="queued")
    await client.cast(TOPIC, "record", value="directed", server="late-host")
    (worker,) = await serving(make_bus, "late-host")
    await wait_until(lambda: len(worker.received) == 2)
    assert sorted(worker.received) == ["directed", "queued"]


async def test_exception_in_cast_does_not_stop_the_server(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    await client.cast(TOPIC, "fail", message="boom")
    await client.cast(TOPIC, "no_such_method")
    assert await client.call(TOPIC, "whoami") == "a"


async def test_non_json_payload_raises_type_error_at_the_caller(make_bus: BusFactory) -> None:
    await serving(make_bus, "a")
    client = await make_bus()
    with pytest.raises(TypeError):
        await client.call(TOPIC, "echo", value=object())
    with pytest.raises(TypeError):
        await client.cast(TOPIC, "echo", value={1, 2})
    with pytest.raises(TypeError):
        await client.fanout(TOPIC, "echo", value=b"bytes")
    with pytest.raises(RemoteError) as caught:
        await client.call(TOPIC, "unserialisable")
    assert caught.value.exc_type == "TypeError"


async def test_invalid_names_are_rejected(make_bus: BusFactory) -> None:
    client = await make_bus()
    with pytest.raises(ValueError):
        await client.cast("compute.host", "record", value=1)
    with pytest.raises(ValueError):
        await client.cast(TOPIC, "record", server="#", value=1)


async def test_close_fails_pending_calls_and_leaves_no_task(make_bus: BusFactory) -> None:
    before = asyncio.all_tasks()
    server = await make_bus()
    await server.serve(TOPIC, Worker(), server="a")
    client = await make_bus()
    assert await client.call(TOPIC, "whoami") == "worker"
    pending = asyncio.create_task(client.call(TOPIC, "sleep", seconds=30))
    await asyncio.sleep(0.2)
    await server.close()
    await client.close()
    with pytest.raises(BusClosed):
        await pending
    with pytest.raises(BusClosed):
        await client.cast(TOPIC, "whoami")

    def leftovers() -> set[asyncio.Task[Any]]:
        return asyncio.all_tasks() - before - {asyncio.current_task()}

    # aio-pika runs its close callbacks in tasks that end a few loop turns after
    # close() returns; anything still there after a moment was left running.
    with contextlib.suppress(TimeoutError):
        await wait_until(lambda: not leftovers(), timeout=1)
    assert not leftovers()


@pytest.mark.system
async def test_rabbit_resumes_after_the_broker_drops_its_connections(
    rabbit_buses: BusFactory, drop_rabbit_connections: Callable[[int], Awaitable[None]]
) -> None:
    (worker,) = await serving(rabbit_buses, "a")
    client = await rabbit_buses()
    assert await client.call(TOPIC, "whoami") == "a"
    await drop_rabbit_connections(2)
    assert await client.call(TOPIC, "whoami", timeout=10) == "a"
    await client.cast(TOPIC, "record", value="after", server="a")
    await wait_until(lambda: worker.received == ["after"])


@pytest.mark.system
async def test_rabbit_close_interrupts_a_cast_waiting_for_the_broker(
    rabbit_buses: BusFactory, drop_rabbit_connections: Callable[[int], Awaitable[None]]
) -> None:
    # The first reconnection attempt comes a reconnect interval after the connection
    # was made: 30 s keeps the bus disconnected for the whole test.
    bus = await rabbit_buses(reconnect_interval=30)
    await drop_rabbit_connections(1)
    await asyncio.sleep(0.2)
    cast = asyncio.create_task(bus.cast(TOPIC, "record", value="lost"))
    await asyncio.sleep(0.2)
    assert not cast.done(), "the cast should wait for the broker"
    await bus.close()
    with pytest.raises(BusClosed):
        await asyncio.wait_for(cast, 5)


def test_inprocess_bus_does_not_import_aio_pika() -> None:
    code = (
        "import sys, nimbus.rpc; nimbus.rpc.connect('inprocess://'); "
        "assert 'aio_pika' not in sys.modules, 'aio_pika imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
