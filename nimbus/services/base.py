"""What every daemon is: an RPC endpoint on a topic, periodic tasks, a heartbeat.

A service serves the shared ``topic`` queue and its own ``topic.host`` queue (so that
work can be sent to one named host), registers a row in ``compute_service`` and beats
into it every ``report_interval`` seconds; the API shows it ``down`` when the beats
stop. Periodic tasks are methods marked with `periodic`; each runs in its own task,
so a slow one delays nobody else, and an exception is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from nimbus.compute import hosts
from nimbus.compute.networking import NetworkClient
from nimbus.compute.options import ComputeOptions
from nimbus.compute.placement_client import LocalPlacement, PlacementClient
from nimbus.db.engine import Database
from nimbus.rpc import Bus
from nimbus.storage.images import ImageStore

LOG = logging.getLogger(__name__)

_PERIODIC = "_nimbus_periodic"


def periodic(interval: str) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Mark a method to run every ``getattr(options, interval)`` seconds (≤ 0: never)."""

    def mark(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        setattr(method, _PERIODIC, interval)
        return method

    return mark


@dataclass
class Deps:
    """What the daemons of one process share."""

    db: Database
    bus: Bus
    options: ComputeOptions
    service_down_time: float = 60.0
    placement: PlacementClient | None = None
    #: Where snapshots land (the image service's store; shared in the scale-out mode).
    image_store: ImageStore | None = None
    #: The network service compute agents put servers on (nimbus.compute.networking).
    network: NetworkClient | None = None

    def __post_init__(self) -> None:
        if self.placement is None:
            self.placement = LocalPlacement(self.db)


async def launch(service: Service) -> None:
    """Start a daemon: register it, serve its topic, start its periodic tasks."""
    await service._start()


async def halt(service: Service) -> None:
    """Stop a daemon's periodic tasks (the process closes the bus afterwards)."""
    await service._stop()


class Service:
    """Base of the daemons; subclasses name their binary and topic and add RPC methods.

    The service object is itself the endpoint: its public async methods are callable
    over the bus, so helpers must be private (leading underscore).
    """

    binary: ClassVar[str]
    topic: ClassVar[str]

    def __init__(self, deps: Deps, host: str) -> None:
        # `launch` and `halt` start and stop it: a public start() would be callable
        # over the bus.
        self._deps = deps
        self.host = host
        self._service_id: int | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def _db(self) -> Database:
        return self._deps.db

    @property
    def _bus(self) -> Bus:
        return self._deps.bus

    @property
    def _options(self) -> ComputeOptions:
        return self._deps.options

    async def _start(self) -> None:
        """Register, serve the topic, start the periodic tasks."""
        await self._register()
        await self._bus.serve(self.topic, self, server=self.host)
        for name in dir(type(self)):
            method = getattr(self, name, None)
            interval = getattr(method, _PERIODIC, None)
            if interval is not None:
                spacing = self._spacing(interval)
                if spacing > 0:
                    self._tasks.append(
                        asyncio.create_task(
                            self._every(spacing, method), name=f"{self.host}:{name}"
                        )
                    )

    def _spacing(self, interval: str) -> float:
        """Seconds between runs of the periodic task marked with `interval`."""
        return float(getattr(self._options, interval))

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _every(self, spacing: float, method: Callable[[], Awaitable[None]]) -> None:
        # A random first delay spreads the work of many hosts started at once.
        await asyncio.sleep(random.uniform(0, spacing))
        while True:
            try:
                await method()
            except asyncio.CancelledError:
                raise
            except Exception:
                LOG.exception("periodic task %s of %s failed", method.__name__, self.host)
            await asyncio.sleep(spacing)

    async def _register(self) -> None:
        async with self._db.transaction() as session:
            self._service_id = await hosts.register_service(
                session, self.host, self.binary, self.topic
            )

    @periodic("report_interval")
    async def _report_state(self) -> None:
        """The heartbeat; the conductor and scheduler write theirs directly."""
        assert self._service_id is not None
        async with self._db.transaction() as session:
            await hosts.heartbeat(session, self._service_id)
