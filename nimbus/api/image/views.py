"""Response bodies of the image resources, shaped as Glance's serializers shape them.

Links (self, file, schema, first, next) are paths relative to the service root, as
Glance writes them; clients resolve them against the endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from nimbus.db.models.image import Image, ImageMember
from nimbus.image.images import properties_of, tags_of

IMAGES = "/v2/images"


def isotime(moment: datetime) -> str:
    """Glance's timestamps: seconds precision, UTC, a trailing Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(image: Image) -> dict[str, Any]:
    """Properties first, then the base attributes (which a property cannot shadow)."""
    href = f"{IMAGES}/{image.id}"
    return {
        **properties_of(image),
        "name": image.name,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "visibility": image.visibility,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "status": image.status,
        "checksum": image.checksum,
        "protected": image.protected,
        "min_ram": image.min_ram,
        "min_disk": image.min_disk,
        "owner": image.owner,
        "os_hidden": image.os_hidden,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "id": image.id,
        "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at),
        "tags": tags_of(image),
        "self": href,
        "file": f"{href}/file",
        "schema": "/v2/schemas/image",
    }


def images_page(
    images: Sequence[Image], query: Sequence[tuple[str, str]], next_marker: str | None
) -> dict[str, Any]:
    """A page of a list: `first` repeats the query without its marker, `next` (only
    when the page was full) moves the marker to the page's last image."""
    params = [(name, value) for name, value in query if name != "marker"]
    body: dict[str, Any] = {
        "images": [image_view(image) for image in images],
        "first": f"{IMAGES}?{urlencode(params)}" if params else IMAGES,
        "schema": "/v2/schemas/images",
    }
    if next_marker is not None:
        body["next"] = f"{IMAGES}?{urlencode([*params, ('marker', next_marker)])}"
    return body


def member_view(member: ImageMember) -> dict[str, Any]:
    return {
        "member_id": member.member,
        "image_id": member.image_id,
        "status": member.status,
        "created_at": isotime(member.created_at),
        "updated_at": isotime(member.updated_at),
        "schema": "/v2/schemas/member",
    }


def members_view(members: Sequence[ImageMember]) -> dict[str, Any]:
    return {"members": [member_view(m) for m in members], "schema": "/v2/schemas/members"}
