"""The Compute service's ASGI application."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nimbus.api.common.app import REQUEST_ID_HEADER, build_app
from nimbus.api.common.auth import authenticate
from nimbus.api.common.faults import compute_fault
from nimbus.api.common.microversion import MicroversionMiddleware
from nimbus.api.compute.common import API_ROOT, VERSIONS
from nimbus.api.compute.routes import ROUTES, TOP_SEGMENTS


class LegacyProjectPrefix:
    """Serves ``/v2.1/{project_id}/flavors`` as ``/v2.1/flavors``.

    Catalogs written for Nova before 2.18 put the project id in the endpoint URL, and
    upstream still accepts that form; a first segment under /v2.1 that is no known
    collection is taken for a project id and dropped (the token decides the project
    either way).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.prefix = API_ROOT + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(self.prefix):
            first, slash, rest = path[len(self.prefix) :].partition("/")
            if first and first not in TOP_SEGMENTS and _looks_like_project_id(first):
                scope = {**scope, "path": API_ROOT + (slash + rest if rest else "")}
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


_COMPUTE_REQUEST_ID = b"x-compute-request-id"


class ComputeRequestIdHeader:
    """Repeats each response's request id as ``x-compute-request-id``: Nova sends both
    headers, and older clients (Tempest's instance-action tests among them) read the
    compute one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_both(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                ids = [v for k, v in headers if k.lower() == REQUEST_ID_HEADER.encode()]
                message["headers"] = headers + [(_COMPUTE_REQUEST_ID, v) for v in ids[:1]]
            await send(message)

        await self.app(scope, receive, send_both)


def _looks_like_project_id(segment: str) -> bool:
    """Keystone ids are 32 hex digits (dashed UUIDs from other deployments too)."""
    plain = segment.replace("-", "")
    return len(plain) == 32 and all(c in "0123456789abcdefABCDEF" for c in plain)


def create_app(state: Mapping[str, Any]) -> ASGIApp:
    """`state` holds db, authenticator, policy, max_body_bytes and service_down_time
    (see nimbus.cloud)."""
    app = build_app(ROUTES, render=compute_fault, authenticate=authenticate, state=state)
    return LegacyProjectPrefix(ComputeRequestIdHeader(MicroversionMiddleware(app, VERSIONS)))
