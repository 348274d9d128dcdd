"""The Placement service's ASGI application."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp

from nimbus.api.common.app import build_app
from nimbus.api.common.auth import authenticate
from nimbus.api.common.faults import placement_fault
from nimbus.api.common.microversion import MicroversionMiddleware
from nimbus.api.placement.common import VERSIONS
from nimbus.api.placement.routes import ROUTES


def create_app(state: Mapping[str, Any]) -> ASGIApp:
    """`state` holds db, authenticator, policy and max_body_bytes (see nimbus.cloud)."""
    app = build_app(ROUTES, render=placement_fault, authenticate=authenticate, state=state)
    return MicroversionMiddleware(app, VERSIONS)
