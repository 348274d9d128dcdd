"""Every model module, imported so that the metadata is complete for migrations."""

from nimbus.db.models import (
    cell,
    changes,
    compute,
    identity,
    image,
    migration,
    network,
    placement,
)

__all__ = [
    "cell",
    "changes",
    "compute",
    "identity",
    "image",
    "migration",
    "network",
    "placement",
]
