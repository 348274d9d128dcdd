"""Placement's error codes (the ``code`` of its error bodies) and the errors that use them.

The strings are upstream's (placement/errors.py) and never change: clients such as
nova's report client branch on them, e.g. to re-read a provider and retry after
``placement.concurrent_update``.
"""

from __future__ import annotations

from nimbus.errors import BadRequest, Conflict

CONCURRENT_UPDATE = "placement.concurrent_update"
INVENTORY_INUSE = "placement.inventory.inuse"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
QUERY_DUPLICATE_KEY = "placement.query.duplicate_key"
QUERY_BAD_VALUE = "placement.query.bad_value"
QUERY_MISSING_VALUE = "placement.query.missing_value"


class ConcurrentUpdate(Conflict):
    """A generation the caller relied on has moved: re-read, then retry."""

    error_code = CONCURRENT_UPDATE


class GenerationRace(ConcurrentUpdate):
    """Another transaction bumped a generation while this one was writing.

    Where the caller never named that generation (allocation writes name no provider
    generations), the whole transaction may simply run again; see
    `nimbus.placement.transactions`. Elsewhere it is the 409 it derives from.
    """

    def __init__(self, what: str = "resource provider") -> None:
        super().__init__(
            f"Another thread concurrently updated the {what} data. Please retry your update"
        )


class UnknownNames(BadRequest):
    """Resource classes or traits named in a request that do not exist."""

    def __init__(self, kind: str, names: set[str]) -> None:
        super().__init__(f"No such {kind} {', '.join(sorted(names))}.")
        self.names = names
