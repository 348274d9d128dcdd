"""Error bodies in each service's upstream shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nimbus.errors import NimbusError

#: Turns an error into the JSON body of its service's shape.
FaultRenderer = Callable[[NimbusError], dict[str, Any]]


def identity_fault(error: NimbusError) -> dict[str, Any]:
    """Keystone: {"error": {"code", "title", "message"}}."""
    return {"error": {"code": error.code, "title": error.title, "message": error.message}}
