"""Every model module, imported so that the metadata is complete for migrations."""

from nimbus.db.models import changes, identity

__all__ = ["changes", "identity"]
