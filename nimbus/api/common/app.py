"""One ASGI application per service, built from that service's route table.

A route table maps each path to the handlers of its methods, so the whole HTTP
surface of a service is visible in one place; a method missing there is a 405 with
an Allow header, derived from the table rather than written by hand.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nimbus.api.common.faults import FaultRenderer
from nimbus.errors import MethodNotAllowed, NimbusError, NotFound

LOG = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
#: path -> {METHOD: handler}
RouteTable = Sequence[tuple[str, Mapping[str, Handler]]]
#: Resolves the caller of a request (validates its token) or raises Unauthorized.
Authenticator = Callable[[Request], Awaitable[Any]]

REQUEST_ID_HEADER = "x-openstack-request-id"
#: Starlette would answer unlisted methods itself; the dispatcher answers them instead.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def public(handler: Handler) -> Handler:
    """Marks a handler that answers without a token (version documents, token issue)."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


class RequestIdMiddleware:
    """Gives every request an id and puts it on every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def error_response(error: NimbusError, render: FaultRenderer) -> JSONResponse:
    headers = {}
    if error.code == 401:
        headers["WWW-Authenticate"] = 'Keystone uri="/v3"'
    allow = getattr(error, "allow", None)
    if allow:
        headers["Allow"] = allow
    return JSONResponse(render(error), status_code=error.code, headers=headers)


def _dispatcher(
    methods: Mapping[str, Handler], render: FaultRenderer, authenticate: Authenticator
) -> Handler:
    allowed = set(methods)
    if "GET" in allowed:
        allowed.add("HEAD")
    allow_header = ", ".join(sorted(allowed))

    async def dispatch(request: Request) -> Response:
        handler = methods.get(request.method)
        if handler is None and request.method == "HEAD":
            handler = methods.get("GET")
        try:
            if handler is None:
                error = MethodNotAllowed(f"The method {request.method} is not allowed here.")
                error.allow = allow_header  # type: ignore[attr-defined]
                raise error
            if not getattr(handler, "public", False):
                request.state.context = await authenticate(request)
            return await handler(request)
        except NimbusError as error:
            return error_response(error, render)
        except Exception:
            LOG.exception("unexpected error in %s %s", request.method, request.url.path)
            return error_response(NimbusError("An unexpected error occurred."), render)

    return dispatch


def build_app(
    routes: RouteTable,
    *,
    render: FaultRenderer,
    authenticate: Authenticator,
    state: Mapping[str, Any],
) -> ASGIApp:
    """An ASGI app serving `routes`, with request ids and the service's error bodies."""

    async def not_found(request: Request, _exc: Exception) -> Response:
        return error_response(NotFound("The resource could not be found."), render)

    starlette_routes = [
        Route(path, _dispatcher(methods, render, authenticate), methods=ALL_METHODS)
        for path, methods in routes
    ]
    app = Starlette(routes=starlette_routes, exception_handlers={404: not_found})
    app.router.redirect_slashes = False
    for key, value in state.items():
        setattr(app.state, key, value)
    return RequestIdMiddleware(app)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """JSON in the compact form every OpenStack client accepts."""
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def no_content() -> Response:
    return Response(status_code=204)
