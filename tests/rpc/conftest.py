"""Fixtures that start buses of each transport, each test in a namespace of its own.

The RabbitMQ variant needs the broker on this machine (``NIMBUS_TEST_RABBIT_URL``,
default guest on 127.0.0.1:5672) and ``rabbitmqctl``, which lists what the run declared
so that it can be deleted afterwards, and which drops connections for the reconnection
test. Every name of a run starts with ``RUN_PREFIX``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import pytest

from nimbus.rpc import Bus, connect
from nimbus.rpc.rabbit import amqp_url

RABBIT_URL = os.environ.get("NIMBUS_TEST_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
RUN_PREFIX = f"nimbustest-{uuid.uuid4().hex[:8]}"
_test_numbers = itertools.count()


class BusFactory:
    """Starts buses on one transport and namespace; closes them all at the end of the test."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options
        self.buses: list[Bus] = []

    async def __call__(self, **overrides: Any) -> Bus:
        bus = connect(self.url, **self.options | overrides)
        await bus.start()
        self.buses.append(bus)
        return bus

    async def close_all(self) -> None:
        for bus in self.buses:
            await bus.close()


async def rabbitmqctl(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {err.decode()}")
    return out.decode()


async def _names(kind: str, prefix: str) -> list[str]:
    rows = json.loads(await rabbitmqctl(f"list_{kind}", "--formatter", "json", "name") or "[]")
    return [row["name"] for row in rows if row["name"].startswith(prefix)]


async def _delete_run_entities() -> None:
    """Delete the queues and exchanges the run declared, whatever the tests left behind."""
    async with await aio_pika.connect(amqp_url(RABBIT_URL)) as connection:
        channel = await connection.channel()
        for name in await _names("queues", RUN_PREFIX):
            await channel.queue_delete(name)
        for name in await _names("exchanges", RUN_PREFIX):
            await channel.exchange_delete(name)


def _rabbit_unavailable() -> str | None:
    """Why the RabbitMQ variant cannot run here, or None."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed (needed to clean up and to drop connections)"
    url = urlsplit(RABBIT_URL)
    try:
        socket.create_connection((url.hostname, url.port or 5672), timeout=1).close()
    except OSError as exc:
        return f"RabbitMQ is not reachable at {url.hostname}:{url.port}: {exc}"
    return None


@pytest.fixture(scope="session")
async def rabbit_broker() -> AsyncIterator[str]:
    """The broker URL; skips when there is none, cleans the run's names up at the end."""
    reason = _rabbit_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        yield RABBIT_URL
    finally:
        await _delete_run_entities()


@pytest.fixture
async def rabbit_buses(rabbit_broker: str) -> AsyncIterator[BusFactory]:
    name = f"{RUN_PREFIX}-{next(_test_numbers)}"
    factory = BusFactory(rabbit_broker, prefix=name, connection_name=name)
    yield factory
    await factory.close_all()


@pytest.fixture
async def inprocess_buses() -> AsyncIterator[BusFactory]:
    factory = BusFactory(f"inprocess://{RUN_PREFIX}-{next(_test_numbers)}")
    yield factory
    await factory.close_all()


@pytest.fixture(params=["inprocess", pytest.param("rabbit", marks=pytest.mark.system)])
def make_bus(request: pytest.FixtureRequest) -> BusFactory:
    """A factory of started buses, once per transport: the contract is the same."""
    return request.getfixturevalue(f"{request.param}_buses")


@pytest.fixture
def drop_rabbit_connections(rabbit_buses: BusFactory) -> Callable[[int], Awaitable[None]]:
    """Close the test's connections from the broker's side, as a broker restart would."""

    async def drop(expected: int) -> None:
        name = rabbit_buses.options["connection_name"]
        listing = await rabbitmqctl(
            "list_connections", "--no-table-headers", "pid", "client_properties"
        )
        pids = [line.split()[0] for line in listing.splitlines() if f'"{name}"' in line]
        assert len(pids) == expected, listing
        for pid in pids:
            await rabbitmqctl("close_connection", pid, "nimbus test: simulated broker restart")

    return drop
