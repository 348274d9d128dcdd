"""The in-process transport (``inprocess://NAME``), for ``nimbus up`` and for tests.

Buses connected to the same URL in one process share a broker made of asyncio queues,
with the semantics of the RabbitMQ transport: shared queues outlive their consumers (a
cast waits for a server), servers of a topic compete for its messages in turn, each
server has a private fanout queue, and requests are JSON-encoded on the way. A broker
lives as long as one of its buses does.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from nimbus.rpc.bus import DEFAULT_CONCURRENCY, Bus, Envelope, served_queues


@dataclass(frozen=True, slots=True)
class _Delivery:
    """An envelope queued in the broker; a call request expires when its caller gives up."""

    envelope: Envelope
    deadline: float | None

    @classmethod
    def of(cls, envelope: Envelope) -> _Delivery:
        now = asyncio.get_running_loop().time()
        return cls(envelope, None if envelope.ttl is None else now + envelope.ttl)

    def expired(self) -> bool:
        return self.deadline is not None and asyncio.get_running_loop().time() > self.deadline


_Queue = asyncio.Queue[_Delivery]


@dataclass(eq=False)
class _Broker:
    """What a message broker would hold: shared queues, fanout subscribers, reply routes."""

    queues: defaultdict[str, _Queue] = field(default_factory=lambda: defaultdict(asyncio.Queue))
    subscribers: defaultdict[str, set[_Queue]] = field(default_factory=lambda: defaultdict(set))
    buses: dict[str, InProcessBus] = field(default_factory=dict)


_brokers: weakref.WeakValueDictionary[str, _Broker] = weakref.WeakValueDictionary()


def _broker(name: str) -> _Broker:
    broker = _brokers.get(name)
    if broker is None:
        broker = _brokers[name] = _Broker()
    return broker


class InProcessBus(Bus):
    """A bus whose broker is a set of asyncio queues shared by the buses of one URL."""

    def __init__(self, url: str = "inprocess://", *, concurrency: int = DEFAULT_CONCURRENCY):
        super().__init__(reply_to=uuid.uuid4().hex, concurrency=concurrency)
        self._broker = _broker(urlsplit(url).netloc)
        self._fanout_queues: list[tuple[str, _Queue]] = []

    async def _connect(self) -> None:
        self._broker.buses[self._reply_to] = self

    async def _disconnect(self) -> None:
        self._broker.buses.pop(self._reply_to, None)
        for topic, queue in self._fanout_queues:
            self._broker.subscribers[topic].discard(queue)
        self._fanout_queues.clear()

    async def _subscribe(self, topic: str, endpoint: object, server: str | None) -> None:
        for name in served_queues(topic, server):
            self._spawn(self._consume(self._broker.queues[name], endpoint))
        fanout_queue: _Queue = asyncio.Queue()
        self._broker.subscribers[topic].add(fanout_queue)
        self._fanout_queues.append((topic, fanout_queue))
        self._spawn(self._consume(fanout_queue, endpoint))

    async def _consume(self, queue: _Queue, endpoint: object) -> None:
        slot = asyncio.Semaphore(self._concurrency)
        while True:
            await slot.acquire()
            delivery = await queue.get()
            if delivery.expired():
                slot.release()
                continue
            self._admit(endpoint, delivery.envelope, slot)
            # Let the competing consumers of this queue take the next message, as a
            # broker's round-robin would.
            await asyncio.sleep(0)

    async def _send(self, queue: str, envelope: Envelope) -> None:
        self._broker.queues[queue].put_nowait(_Delivery.of(envelope))

    async def _send_fanout(self, topic: str, envelope: Envelope) -> None:
        for queue in self._broker.subscribers[topic]:
            queue.put_nowait(_Delivery.of(envelope))

    async def _send_reply(self, reply_to: str, correlation_id: str | None, body: bytes) -> None:
        caller = self._broker.buses.get(reply_to)
        if caller is not None:
            caller._resolve(correlation_id, body)
