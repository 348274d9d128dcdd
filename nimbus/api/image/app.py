"""The Image service's ASGI application."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp

from nimbus.api.common.app import build_app
from nimbus.api.common.auth import authenticate
from nimbus.api.common.faults import image_fault
from nimbus.api.image.routes import ROUTES


def create_app(state: Mapping[str, Any]) -> ASGIApp:
    """`state` holds db, authenticator, policy, max_body_bytes (see nimbus.cloud), the
    image `store` (nimbus.storage.images) and `image_size_cap` in bytes."""
    return build_app(ROUTES, render=image_fault, authenticate=authenticate, state=state)
