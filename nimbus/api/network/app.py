"""The Network service's ASGI application."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp

from nimbus.api.common.app import build_app
from nimbus.api.common.auth import authenticate
from nimbus.api.common.faults import network_fault
from nimbus.api.network.routes import ROUTES


def create_app(state: Mapping[str, Any]) -> ASGIApp:
    """`state` holds db, authenticator, policy, network_options and max_body_bytes."""
    return build_app(ROUTES, render=network_fault, authenticate=authenticate, state=state)
