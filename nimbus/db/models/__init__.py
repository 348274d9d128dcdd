"""Every model module, imported so that the metadata is complete for migrations."""

from nimbus.db.models import changes, identity, image, placement

__all__ = ["changes", "identity", "image", "placement"]
