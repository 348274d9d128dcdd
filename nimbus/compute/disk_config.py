"""A server's disk config (`OS-DCF:diskConfig`): whether its root partition is grown
to the disk's size (AUTO) or left as the image made it (MANUAL).

Nova keeps it in the instance's `auto_disk_config` column; instances here have no such
column, so it lives in the system metadata under `KEY` ("True"/"False"), which every
view already reads. As in nova/compute/api.py: a boot or a rebuild takes the request's
value, else the image's `auto_disk_config` property (oslo's booleans; anything else is
False); an image whose property says "disabled" refuses AUTO; a resize sets what it
was given (no value: MANUAL) after checking the server's image; an update sets it
unchecked. No driver here acts on it yet: it is the API's record of the choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nimbus.errors import BadRequest

#: The system metadata key holding the server's choice.
KEY = "auto_disk_config"
#: Where a boot records the image's property (its `image_` prefix, as Nova).
IMAGE_KEY = f"image_{KEY}"
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})


class AutoDiskConfigDisabledByImage(BadRequest):
    def __init__(self, image_id: str | None) -> None:
        super().__init__(f"Requested image {image_id} has automatic disk resize disabled.")


def check(requested: bool | None, image_value: Any, image_id: str | None) -> None:
    """AUTO is refused when the image's property says "disabled"."""
    if requested and image_value is not None and str(image_value).strip().lower() == "disabled":
        raise AutoDiskConfigDisabledByImage(image_id)


def chosen(requested: bool | None, image_properties: Mapping[str, Any], image_id: str) -> bool:
    """A boot's or a rebuild's value: the request's, else the image's (Nova's
    _inherit_properties_from_image)."""
    image_value = image_properties.get(KEY)
    check(requested, image_value, image_id)
    if requested is not None:
        return requested
    return image_value is not None and str(image_value).strip().lower() in _TRUE


def check_resize(requested: bool | None, system_metadata: Mapping[str, Any]) -> None:
    """A resize checks the image the server was built from, as the boot recorded it."""
    check(requested, system_metadata.get(IMAGE_KEY), system_metadata.get("image_base_image_ref"))


def entry(auto: bool) -> dict[str, str]:
    """The system metadata that records `auto`."""
    return {KEY: str(auto)}


def auto_of(system_metadata: Mapping[str, Any] | None) -> bool:
    """The server's disk config (False for one recorded before the key existed)."""
    return (system_metadata or {}).get(KEY) == "True"
