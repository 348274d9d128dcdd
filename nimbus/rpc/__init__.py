"""The message bus between Nimbus services: call, cast and fanout over topics.

``connect(url)`` picks the transport from the URL scheme:

- ``inprocess://NAME``: asyncio queues shared by the buses of one process (``nimbus up``);
- ``rabbit://user:password@host:5672/`` or ``amqp://…``: RabbitMQ (``nimbus serve``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from nimbus.rpc.bus import Bus, BusClosed, RemoteError, RPCTimeout

__all__ = ["Bus", "BusClosed", "RPCTimeout", "RemoteError", "connect"]


def connect(url: str, **options: Any) -> Bus:
    """A bus for the transport URL, not started yet (``async with`` starts it).

    ``options`` go to the transport: ``concurrency`` for both; ``prefix``,
    ``reconnect_interval`` and ``connection_name`` for RabbitMQ.
    """
    scheme = urlsplit(url).scheme
    if scheme == "inprocess":
        from nimbus.rpc.inprocess import InProcessBus

        return InProcessBus(url, **options)
    if scheme in ("rabbit", "amqp"):
        # Imported here so that aio-pika is loaded only by processes that use RabbitMQ.
        from nimbus.rpc.rabbit import RabbitBus

        return RabbitBus(url, **options)
    raise ValueError(f"unsupported transport URL {url!r}: use inprocess://, rabbit:// or amqp://")
