"""Microversions: negotiate ``OpenStack-API-Version``, tell handlers, say so in replies.

A service advertises a range (placement 1.0 to 1.39, compute 2.1 to 2.x). Each request names
the version it wants in ``OpenStack-API-Version: <service> <X.Y>`` (or ``latest``), or
in a legacy header such as ``X-OpenStack-Nova-API-Version``; no header means the
minimum, so that old clients keep the behaviour they were written against.

`MicroversionMiddleware` negotiates once per request and puts the result in
``request.state.version`` (a `Version`, comparable with another or with a tuple:
``version >= (1, 14)``). A header that does not parse is a 400, a version outside the
range a 406, as upstream's microversion-parse answers; both are raised from the
handler's gate rather than from the middleware so that the service's own error body,
request id and authentication order apply (upstream authenticates first, too).

The route table declares when a route appeared: `since` ("this method exists from X",
404 or 405 below it, as upstream chooses per route) and `by_version` (a different
handler from each version on). `gated` gives every other handler of a versioned
service the same negotiation check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nimbus.api.common.faults import REQUEST_STATE
from nimbus.errors import BadRequest, MethodNotAllowed, NimbusError, NotAcceptable, NotFound

Handler = Callable[[Request], Awaitable[Response]]
RouteTable = Iterable[tuple[str, dict[str, Handler]]]

STANDARD_HEADER = "openstack-api-version"
LATEST = "latest"


class Version(NamedTuple):
    """A microversion; a tuple, so it orders and compares with ``(1, 14)`` directly."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """``"1.14"`` → Version(1, 14); ValueError for anything that is not X.Y."""
        major, dot, minor = text.strip().partition(".")
        if not dot or not major.strip().isdigit() or not minor.strip().isdigit():
            raise ValueError(f"invalid version string: {text}")
        return cls(int(major), int(minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def _last_value_for(header: str, service: str) -> str | None:
    """The version a (possibly comma-folded) standard header asks of `service`."""
    for item in reversed(header.split(",")):
        name, _, value = item.strip().partition(" ")
        if name.lower() == service and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True)
class Microversions:
    """The range a service speaks and the header names it reads and echoes."""

    service: str
    minimum: Version
    maximum: Version
    #: Older per-service headers (``x-openstack-nova-api-version``), read when the
    #: standard one does not name this service, and echoed back like it.
    legacy_headers: tuple[str, ...] = ()

    def requested(self, headers: Headers) -> str | None:
        """The version text the client asked for, if any."""
        standard = ",".join(headers.getlist(STANDARD_HEADER))
        if standard and (value := _last_value_for(standard, self.service.lower())):
            return value
        for name in self.legacy_headers:
            legacy = ",".join(headers.getlist(name))
            if legacy:
                return legacy.split(",")[-1].strip()
        return None

    def negotiate(self, headers: Headers) -> Version:
        """The version to serve; BadRequest if unparsable, NotAcceptable if unserved."""
        text = self.requested(headers)
        if text is None:
            return self.minimum
        if text.lower() == LATEST:
            return self.maximum
        try:
            version = Version.parse(text)
        except ValueError as error:
            raise BadRequest(f"Invalid microversion: {error}") from None
        if not self.minimum <= version <= self.maximum:
            raise NotAcceptable(f"Invalid microversion: Unacceptable version header: {text}")
        return version

    def response_headers(self, version: Version) -> list[tuple[bytes, bytes]]:
        """What every reply served at `version` carries (and the Vary that caches need)."""
        headers = [(STANDARD_HEADER.encode(), f"{self.service} {version}".encode())]
        headers += [(name.encode(), str(version).encode()) for name in self.legacy_headers]
        headers.append((b"vary", ", ".join([STANDARD_HEADER, *self.legacy_headers]).encode()))
        return headers


class MicroversionMiddleware:
    """Negotiates the version of each request; see the module docstring."""

    def __init__(self, app: ASGIApp, versions: Microversions) -> None:
        self.app = app
        self.versions = versions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["microversions"] = self.versions
        extra: list[tuple[bytes, bytes]] = []
        try:
            version = self.versions.negotiate(Headers(scope=scope))
        except NimbusError as error:
            state["version_error"] = error
        else:
            state["version"] = version
            extra = self.versions.response_headers(version)

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        token = REQUEST_STATE.set(state)
        try:
            await self.app(scope, receive, send_with_version)
        finally:
            REQUEST_STATE.reset(token)


def version_of(request: Request) -> Version:
    """The negotiated version; raises the negotiation's 400/406 if it failed."""
    error = getattr(request.state, "version_error", None)
    if error is not None:
        raise error
    return request.state.version


def _absent(status: int) -> NimbusError:
    """What upstream answers for a route (or method) that a version does not have."""
    if status == 405:
        return MethodNotAllowed("The method specified is not allowed for this resource.")
    return NotFound("The resource could not be found.")


def by_version(*choices: tuple[str | Version, Handler], absent: int = 404) -> Handler:
    """One handler per range: each from its version up to the next one's.

    Below the lowest version the route does not exist: 404, or 405 where upstream
    treats it as a method the URL lacks (``absent=405``).
    """
    table = sorted(
        ((v if isinstance(v, Version) else Version.parse(v), h) for v, h in choices),
        key=lambda choice: choice[0],
        reverse=True,
    )

    async def dispatch(request: Request) -> Response:
        version = version_of(request)
        for minimum, handler in table:
            if version >= minimum:
                return await handler(request)
        raise _absent(absent)

    dispatch.public = all(getattr(h, "public", False) for _, h in table)  # type: ignore[attr-defined]
    dispatch.versioned = True  # type: ignore[attr-defined]
    return dispatch


def since(minimum: str, handler: Handler, *, absent: int = 404) -> Handler:
    """`handler` exists from `minimum` on (see `by_version`)."""
    return by_version((minimum, handler), absent=absent)


def gated(routes: RouteTable) -> list[tuple[str, dict[str, Handler]]]:
    """The table with every handler behind the version check (once)."""

    def gate(handler: Handler) -> Handler:
        if getattr(handler, "versioned", False):
            return handler
        return by_version((Version(0, 0), handler))

    return [(path, {method: gate(h) for method, h in methods.items()}) for path, methods in routes]
