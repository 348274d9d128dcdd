"""The RabbitMQ transport (``rabbit://`` or ``amqp://``), for services spread over hosts.

Everything is named under ``prefix`` (default ``nimbus``), in oslo.messaging's layout:

- a durable topic exchange ``prefix``, with durable queues ``prefix.topic`` and
  ``prefix.topic.server`` bound by the routing keys ``topic`` and ``topic.server``.
  Senders declare the queue they publish to, and requests are persistent, so that a cast
  waits for a server that has not started yet and survives a broker restart;
- a durable fanout exchange ``prefix.topic_fanout`` per topic, to which every server of
  the topic binds an exclusive, auto-deleted queue of its own;
- an exclusive, auto-deleted reply queue ``prefix.reply.<uuid>`` per bus; a reply finds
  its call by correlation id, and a call's request expires with its timeout.

The connection is robust: after the broker drops it, aio-pika reconnects, declares the
queues again and resumes the consumers, and sends wait for that (a call no longer than its
timeout). Calls whose request or reply was in flight at that moment may time out.

This module is the only one that imports aio-pika; ``nimbus.rpc.connect`` imports it only
for a RabbitMQ URL, so that the all-in-one process does not pay for it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import uuid
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelInvalidStateError

from nimbus.rpc.bus import DEFAULT_CONCURRENCY, Bus, Envelope, served_queues

_JSON = "application/json"
# Seconds between attempts to publish while the connection is being restored.
_REPUBLISH_PAUSE = 0.1


def amqp_url(url: str) -> str:
    """aio-pika's spelling of an oslo-style ``rabbit://`` transport URL."""
    return urlunsplit(("amqp", *urlsplit(url)[1:]))


async def _take(message: AbstractIncomingMessage) -> bool:
    """Acknowledge before handling (at most once); False if the message's channel is gone."""
    try:
        await message.ack()
    except (ChannelInvalidStateError, *CONNECTION_EXCEPTIONS):
        return False
    return True


class RabbitBus(Bus):
    """A bus on a RabbitMQ broker; see the module docstring for the layout."""

    _connection: AbstractRobustConnection
    _channel: AbstractRobustChannel
    _exchange: AbstractExchange

    def __init__(
        self,
        url: str = "rabbit://guest:guest@127.0.0.1:5672/",
        *,
        prefix: str = "nimbus",
        concurrency: int = DEFAULT_CONCURRENCY,
        reconnect_interval: float = 1.0,
        connection_name: str | None = None,
    ) -> None:
        """``connection_name`` shows in ``rabbitmqctl list_connections client_properties``;
        it defaults to the prefix, host and process id, so that an operator can tell which
        service holds a connection."""
        super().__init__(reply_to=f"{prefix}.reply.{uuid.uuid4().hex}", concurrency=concurrency)
        self._url = amqp_url(url)
        self._prefix = prefix
        self._reconnect_interval = reconnect_interval
        self._connection_name = (
            connection_name or f"nimbus:{prefix}:{socket.gethostname()}:{os.getpid()}"
        )
        self._queues: dict[str, AbstractQueue] = {}
        self._fanout_exchanges: dict[str, AbstractExchange] = {}

    async def _connect(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._url,
            client_properties={"connection_name": self._connection_name},
            reconnect_interval=self._reconnect_interval,
        )
        try:
            await self._declare_basics()
        except BaseException:
            await self._connection.close()
            raise

    async def _declare_basics(self) -> None:
        self._channel = await self._connection.channel()
        # Per consumer: the broker keeps no more unacknowledged messages on a server
        # than it is willing to run at once.
        await self._channel.set_qos(prefetch_count=self._concurrency)
        self._exchange = await self._channel.declare_exchange(
            self._prefix, aio_pika.ExchangeType.TOPIC, durable=True
        )
        replies = await self._channel.declare_queue(
            self._reply_to, exclusive=True, auto_delete=True
        )
        await replies.consume(self._on_reply, no_ack=True)

    async def _disconnect(self) -> None:
        await self._connection.close()

    async def _subscribe(self, topic: str, endpoint: object, server: str | None) -> None:
        for name in served_queues(topic, server):
            await self._consume(await self._shared_queue(name), endpoint)
        fanout_queue = await self._channel.declare_queue(
            f"{self._prefix}.{topic}_fanout.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        await fanout_queue.bind(await self._fanout_exchange(topic))
        await self._consume(fanout_queue, endpoint)

    async def _consume(self, queue: AbstractQueue, endpoint: object) -> None:
        slot = asyncio.Semaphore(self._concurrency)
        await queue.consume(functools.partial(self._on_request, endpoint, slot))

    async def _on_request(
        self, endpoint: object, slot: asyncio.Semaphore, message: AbstractIncomingMessage
    ) -> None:
        """Take a message once a slot is free; until then it stays unacknowledged."""
        await slot.acquire()
        if not (self._open and await _take(message)):
            # The broker still owns the message and delivers it again.
            slot.release()
            return
        envelope = Envelope(message.body, message.reply_to, message.correlation_id)
        self._admit(endpoint, envelope, slot)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        self._resolve(message.correlation_id, message.body)

    async def _shared_queue(self, name: str) -> AbstractQueue:
        queue = self._queues.get(name)
        if queue is None:
            queue = await self._channel.declare_queue(f"{self._prefix}.{name}", durable=True)
            await queue.bind(self._exchange, routing_key=name)
            self._queues[name] = queue
        return queue

    async def _fanout_exchange(self, topic: str) -> AbstractExchange:
        exchange = self._fanout_exchanges.get(topic)
        if exchange is None:
            exchange = await self._channel.declare_exchange(
                f"{self._prefix}.{topic}_fanout", aio_pika.ExchangeType.FANOUT, durable=True
            )
            self._fanout_exchanges[topic] = exchange
        return exchange

    async def _send(self, queue: str, envelope: Envelope) -> None:
        await self._shared_queue(queue)
        message = aio_pika.Message(
            envelope.body,
            content_type=_JSON,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            reply_to=envelope.reply_to,
            correlation_id=envelope.correlation_id,
            expiration=envelope.ttl,
        )
        await self._publish(self._exchange, message, queue)

    async def _send_fanout(self, topic: str, envelope: Envelope) -> None:
        exchange = await self._fanout_exchange(topic)
        message = aio_pika.Message(envelope.body, content_type=_JSON)
        # Not mandatory: a fanout that no server hears is not an error.
        await self._publish(exchange, message, "", mandatory=False)

    async def _send_reply(self, reply_to: str, correlation_id: str | None, body: bytes) -> None:
        message = aio_pika.Message(body, content_type=_JSON, correlation_id=correlation_id)
        # Not mandatory: the caller may have gone, with its reply queue.
        await self._publish(self._channel.default_exchange, message, reply_to, mandatory=False)

    async def _publish(
        self,
        exchange: AbstractExchange,
        message: aio_pika.Message,
        routing_key: str,
        *,
        mandatory: bool = True,
    ) -> None:
        """Publish, waiting out a reconnection (a call's timeout or ``close()`` ends the wait).

        The robust channel restores itself but does not replay a publish that found it
        closed; such a publish was never sent, so sending it again cannot duplicate it.
        """
        while True:
            await self._channel.ready()
            try:
                await exchange.publish(message, routing_key, mandatory=mandatory)
            except ChannelInvalidStateError:
                await asyncio.sleep(_REPUBLISH_PAUSE)
            else:
                return
