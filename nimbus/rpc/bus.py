"""The message bus interface, and everything about it that does not depend on a transport.

Nimbus services talk to each other the way Nova's do through oslo.messaging:

- ``call`` sends a request to one server of a topic and waits for its reply;
- ``cast`` sends a request to one server of a topic and does not wait;
- ``fanout`` sends a request to every server of a topic.

A server of a topic listens on three queues: the shared ``topic`` queue (competing
consumers, each message goes to exactly one server), the directed ``topic.server`` queue
(so that a request can reach one named host), and a private queue that receives the
topic's fanout.

:class:`Bus` implements these verbs once, on top of a few transport hooks (send a request
to a queue, send a fanout, send a reply, subscribe an endpoint). The request and reply
envelopes, the dispatch of a request to an endpoint method and the bookkeeping of calls
waiting for replies live here too, so that every transport behaves the same way.

Delivery is at most once, as in oslo.messaging: a server takes a message off its queue
when it starts handling it, so that a non-idempotent request (build this instance) is
never run twice. Each consumer handles at most ``concurrency`` messages at a time and
leaves the rest on the queue, where an idle competing server can take them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

log = logging.getLogger(__name__)

#: Messages one consumer handles at once. It bounds the work a busy server takes
#: off a shared queue while a competing server may be idle.
DEFAULT_CONCURRENCY = 64

# A topic has no dot, so that ``topic.server`` names one queue only; a server may be a
# fully qualified host name. Neither may contain AMQP topic wildcards.
_TOPIC = re.compile(r"[A-Za-z0-9_-]+")
_SERVER = re.compile(r"[A-Za-z0-9_.:@-]+")


class RemoteError(Exception):
    """The remote endpoint raised, or had no such method; carries what the server said."""

    def __init__(self, exc_type: str, message: str) -> None:
        super().__init__(f"{exc_type}: {message}")
        self.exc_type = exc_type
        self.message = message


class RPCTimeout(TimeoutError):
    """No reply arrived within the call's timeout."""


class BusClosed(ConnectionError):
    """The bus was closed before, or while, the operation ran."""


class NoSuchMethod(Exception):
    """Raised on the server when a request names no public async method of the endpoint."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A request in transit: its JSON body and, for a call, where the reply goes.

    ``ttl`` is how long the caller waits; a request still queued after that is useless,
    so transports drop it instead of running it.
    """

    body: bytes
    reply_to: str | None = None
    correlation_id: str | None = None
    ttl: float | None = None


def queue_name(topic: str, server: str | None = None) -> str:
    """Name of the shared queue of ``topic``, or of its queue directed at ``server``."""
    return topic if server is None else f"{topic}.{server}"


def served_queues(topic: str, server: str | None) -> list[str]:
    """The shared queues a server of ``topic`` consumes, its private fanout queue aside."""
    return [topic] if server is None else [topic, queue_name(topic, server)]


def check_target(topic: str, server: str | None = None) -> None:
    """Reject names that would make two targets share a queue or act as wildcards."""
    if not _TOPIC.fullmatch(topic):
        raise ValueError(f"invalid topic {topic!r}: use letters, digits, '_' and '-'")
    if server is not None and not _SERVER.fullmatch(server):
        raise ValueError(f"invalid server {server!r}: use a host name")


def _dumps(value: Any) -> bytes:
    """Encode as JSON; raises TypeError for values that would not survive a broker."""
    return json.dumps(value, separators=(",", ":")).encode()


def encode_request(method: str, kwargs: dict[str, Any]) -> bytes:
    return _dumps({"method": method, "kwargs": kwargs})


def decode_request(body: bytes) -> tuple[str, dict[str, Any]]:
    request = json.loads(body)
    return request["method"], request["kwargs"]


def encode_reply(outcome: Any) -> bytes:
    """Encode a result, or an exception as an error; an unencodable result is an error."""
    if not isinstance(outcome, Exception):
        try:
            return _dumps({"result": outcome})
        except (TypeError, ValueError) as exc:
            outcome = exc
    return _dumps({"error": {"type": type(outcome).__name__, "message": str(outcome)}})


def decode_reply(body: bytes) -> Any:
    """Return the result carried by a reply, or raise the remote error it carries."""
    reply = json.loads(body)
    if "error" in reply:
        raise RemoteError(reply["error"]["type"], reply["error"]["message"])
    return reply["result"]


def find_method(endpoint: object, name: str) -> Callable[..., Awaitable[Any]]:
    """The endpoint method a request may run: public and async, nothing else."""
    method = None if name.startswith("_") else getattr(endpoint, name, None)
    if method is None or not inspect.iscoroutinefunction(method):
        raise NoSuchMethod(f"{type(endpoint).__name__} has no RPC method {name!r}")
    return method


class Bus(ABC):
    """A connection to the message bus: the same verbs whatever the transport.

    Use ``async with connect(url) as bus:`` or ``start()``/``close()``. Endpoint methods
    take JSON-serialisable keyword arguments and return a JSON-serialisable value.
    """

    def __init__(self, *, reply_to: str, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._reply_to = reply_to
        self._concurrency = concurrency
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._open = False
        self._closed = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect to the transport; the bus can send and serve afterwards."""
        if self._closed:
            raise BusClosed("a closed bus cannot be restarted")
        if self._open:
            return
        await self._connect()
        self._open = True

    async def close(self) -> None:
        """Stop serving, fail the calls still waiting with BusClosed, disconnect.

        Handlers still running are cancelled: their messages were already taken, so
        they are not run again elsewhere (at most once).
        """
        if self._closed:
            return
        connected, self._open, self._closed = self._open, False, True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for reply in self._pending.values():
            if not reply.done():
                reply.set_exception(BusClosed("the bus was closed while waiting for a reply"))
        self._pending.clear()
        if connected:
            await self._disconnect()

    async def serve(self, topic: str, endpoint: object, server: str | None = None) -> None:
        """Make the public async methods of ``endpoint`` callable on ``topic``.

        The endpoint receives requests from the shared ``topic`` queue, from the
        ``topic.server`` queue when ``server`` is given, and from the topic's fanout.
        """
        check_target(topic, server)
        self._check_open()
        await self._interruptible(self._subscribe(topic, endpoint, server))

    async def call(
        self,
        topic: str,
        method: str,
        *,
        server: str | None = None,
        timeout: float = 60.0,
        **kwargs: Any,
    ) -> Any:
        """Run ``method(**kwargs)`` on one server of ``topic`` and return its result.

        Raises RemoteError if the method raised, RPCTimeout if no reply came within
        ``timeout`` seconds, TypeError if the arguments are not JSON-serialisable.
        """
        check_target(topic, server)
        self._check_open()
        body = encode_request(method, kwargs)
        correlation_id = uuid.uuid4().hex
        reply = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = reply
        envelope = Envelope(body, self._reply_to, correlation_id, timeout)
        try:
            async with asyncio.timeout(timeout):
                await self._interruptible(self._send(queue_name(topic, server), envelope))
                return decode_reply(await reply)
        except TimeoutError:
            target = queue_name(topic, server)
            raise RPCTimeout(f"no reply to {method!r} from {target!r} in {timeout}s") from None
        finally:
            self._pending.pop(correlation_id, None)

    async def cast(
        self, topic: str, method: str, *, server: str | None = None, **kwargs: Any
    ) -> None:
        """Queue ``method(**kwargs)`` for one server of ``topic``; do not wait for it.

        With no server listening yet, the request waits in the queue for one.
        """
        check_target(topic, server)
        self._check_open()
        envelope = Envelope(encode_request(method, kwargs))
        await self._interruptible(self._send(queue_name(topic, server), envelope))

    async def fanout(self, topic: str, method: str, **kwargs: Any) -> None:
        """Send ``method(**kwargs)`` to every server of ``topic`` listening now."""
        check_target(topic)
        self._check_open()
        envelope = Envelope(encode_request(method, kwargs))
        await self._interruptible(self._send_fanout(topic, envelope))

    def _check_open(self) -> None:
        if not self._open:
            raise BusClosed("the bus is closed" if self._closed else "the bus is not started")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` in a task that ``close()`` cancels."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _interruptible(self, operation: Coroutine[Any, Any, None]) -> None:
        """Run a transport operation that ``close()`` interrupts with BusClosed.

        A send may be waiting for the broker to come back; closing the bus must not leave
        its caller waiting forever.
        """
        task = self._spawn(operation)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller itself was cancelled, or its timeout expired
            raise BusClosed("the bus was closed before the operation completed") from None

    def _admit(self, endpoint: object, envelope: Envelope, slot: asyncio.Semaphore) -> None:
        """Handle a message taken off a queue; ``slot`` was acquired and is released after."""
        task = self._spawn(self._handle(endpoint, envelope))
        task.add_done_callback(lambda _: slot.release())

    def _resolve(self, correlation_id: str | None, body: bytes) -> None:
        """Hand a reply to the call waiting for it; replies to abandoned calls are dropped."""
        reply = self._pending.get(correlation_id or "")
        if reply is not None and not reply.done():
            reply.set_result(body)

    async def _handle(self, endpoint: object, envelope: Envelope) -> None:
        """Run a request on the endpoint; reply to a call, log the failure of a cast."""
        method: Any = None
        outcome: Any
        try:
            method, kwargs = decode_request(envelope.body)
            outcome = await find_method(endpoint, method)(**kwargs)
        except Exception as exc:
            outcome = exc
        if envelope.reply_to is None:
            if isinstance(outcome, Exception):
                name = type(endpoint).__name__
                log.error("cast of %r to %s failed", method, name, exc_info=outcome)
            return
        try:
            await self._send_reply(
                envelope.reply_to, envelope.correlation_id, encode_reply(outcome)
            )
        except Exception:
            log.warning("could not reply to %s", envelope.reply_to, exc_info=True)

    @abstractmethod
    async def _connect(self) -> None:
        """Open the transport and start receiving replies at ``self._reply_to``."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Release the transport; the bus's own tasks are already cancelled."""

    @abstractmethod
    async def _subscribe(self, topic: str, endpoint: object, server: str | None) -> None:
        """Consume the topic's queues and fanout, passing each message to ``_admit``."""

    @abstractmethod
    async def _send(self, queue: str, envelope: Envelope) -> None:
        """Put a request on a shared queue, creating it if needed so that it waits there."""

    @abstractmethod
    async def _send_fanout(self, topic: str, envelope: Envelope) -> None:
        """Deliver a request to every server of ``topic`` listening now."""

    @abstractmethod
    async def _send_reply(self, reply_to: str, correlation_id: str | None, body: bytes) -> None:
        """Deliver a reply to the bus that made the call; it ends up in its ``_resolve``."""
