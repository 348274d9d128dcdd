"""Images: the catalog records, their properties and tags, and their lifecycle.

Status moves queued → saving → active (see upload.py), active ⇄ deactivated, and an
image is deleted for real.  Only some attributes can ever be written by clients;
the rest (status, checksum, size…) belong to the service, which is what lets users
trust that an image's data is the same today as when they first used it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.lookup import flush_unique
from nimbus.db.models.image import Image, ImageProperty, ImageTag, new_image_id
from nimbus.errors import Conflict, Forbidden, NotFound, PayloadTooLarge
from nimbus.image.visibility import Viewer, can_see

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = (
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "uploading",
    "importing",
    "pending_delete",
    "deactivated",
)

#: Attributes clients may set; everything else an image shows is the service's.
WRITABLE = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "disk_format",
    "container_format",
    "min_disk",
    "min_ram",
)
#: Attributes the service maintains (refused with 403 when a client writes them).
READ_ONLY = frozenset(
    {
        "id",
        "status",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "size",
        "virtual_size",
        "created_at",
        "updated_at",
        "direct_url",
        "self",
        "file",
        "schema",
        "stores",
    }
)
#: Names that are neither attributes nor allowed as properties.
RESERVED = frozenset({"location", "locations", "deleted", "deleted_at"})
#: Glance keeps this property namespace for itself.
RESERVED_PREFIX = "os_glance"
#: Glance's default image_property_quota, image_tag_quota.
MAX_PROPERTIES = 128
MAX_TAGS = 128


def refusal(name: str, *, creating: bool = False) -> str | None:
    """Why a client may not write `name` (a 403), or None when it may; an image's id
    may be chosen when it is created, never changed."""
    if name in READ_ONLY and not (creating and name == "id"):
        return f"Attribute '{name}' is read-only."
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        return f"Attribute '{name}' is reserved."
    return None


def _touch(image: Image) -> None:
    """Changes to tags and properties do not update the image row by themselves."""
    image.updated_at = utcnow()


def _check_property_count(count: int) -> None:
    if count > MAX_PROPERTIES:
        raise PayloadTooLarge(
            "The limit has been exceeded on the number of allowed image properties. "
            f"Attempted: {count}, Maximum: {MAX_PROPERTIES}"
        )


def _check_tag_count(count: int) -> None:
    if count > MAX_TAGS:
        raise PayloadTooLarge(
            "The limit has been exceeded on the number of allowed image tags. "
            f"Attempted: {count}, Maximum: {MAX_TAGS}"
        )


def properties_of(image: Image) -> dict[str, str | None]:
    return {prop.name: prop.value for prop in image.properties}


def tags_of(image: Image) -> list[str]:
    return sorted(tag.value for tag in image.tags)


async def create_image(
    session: AsyncSession,
    *,
    owner: str | None,
    tags: list[str],
    properties: dict[str, str | None],
    **fields: Any,
) -> Image:
    """A queued image (no data yet); `fields` are WRITABLE attributes and `id`."""
    unique_tags = list(dict.fromkeys(tags))
    _check_property_count(len(properties))
    _check_tag_count(len(unique_tags))
    fields.setdefault("visibility", "shared")
    fields.setdefault("id", new_image_id())
    image = Image(owner=owner, status="queued", **fields)
    image.properties = [ImageProperty(name=k, value=v) for k, v in properties.items()]
    image.tags = [ImageTag(value=tag) for tag in unique_tags]
    session.add(image)
    await flush_unique(session, f"Image with identifier {image.id} already exists!")
    return image


async def get_image(session: AsyncSession, image_id: str, viewer: Viewer) -> Image:
    """The image, if `viewer` may see it; otherwise it does not exist (404)."""
    image = await session.get(Image, image_id)
    if image is None or not await can_see(session, image, viewer):
        raise NotFound(f"No image found with ID {image_id}")
    return image


async def delete_image(session: AsyncSession, image: Image) -> None:
    """Delete the record (members, tags, properties go with it); not its data."""
    if image.protected:
        raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
    await session.delete(image)


def _switch(image: Image, action: str, source: str, target: str) -> None:
    """`source` → `target`; already at `target` is fine; any other status is a 403."""
    if image.status == source:
        image.status = target
        _touch(image)
    elif image.status != target:
        raise Forbidden(f"Not allowed to {action} image in status '{image.status}'")


def deactivate(image: Image) -> None:
    """Make an active image's data unavailable (downloads 403) until reactivated."""
    _switch(image, "deactivate", "active", "deactivated")


def reactivate(image: Image) -> None:
    _switch(image, "reactivate", "deactivated", "active")


def add_tag(image: Image, tag: str) -> None:
    """Tags are a set: adding one it has changes nothing."""
    if tag in {t.value for t in image.tags}:
        return
    _check_tag_count(len(image.tags) + 1)
    image.tags.append(ImageTag(value=tag))
    _touch(image)


def remove_tag(image: Image, tag: str) -> None:
    for existing in image.tags:
        if existing.value == tag:
            image.tags.remove(existing)
            _touch(image)
            return
    raise NotFound(f"Tag {tag} not found on image {image.id}.")


# -- updates (JSON patch) -----------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One JSON-patch operation on a top-level member of the image document."""

    op: Literal["add", "replace", "remove"]
    name: str
    value: Any = None


def _set_attribute(image: Image, name: str, value: Any) -> None:
    frozen = name in ("disk_format", "container_format") and image.status != "queued"
    if frozen and getattr(image, name) != value:
        raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
    setattr(image, name, value)


def _set_tags(image: Image, tags: list[str]) -> None:
    wanted = list(dict.fromkeys(tags))
    _check_tag_count(len(wanted))
    image.tags = [ImageTag(value=tag) for tag in wanted]


def _change_property(image: Image, change: Change) -> None:
    existing = {prop.name: prop for prop in image.properties}
    current = existing.get(change.name)
    if current is None and change.op != "add":
        raise Conflict(f"Property {change.name} does not exist.")
    if change.op == "remove":
        image.properties.remove(current)
    elif current is not None:
        current.value = change.value
    else:
        _check_property_count(len(existing) + 1)
        image.properties.append(ImageProperty(name=change.name, value=change.value))


def apply_change(image: Image, change: Change) -> None:
    """Apply one change as Glance does: `add` on an attribute or an existing property
    sets it, `replace` needs the property to exist (409), attributes cannot be removed
    (403).  Callers have already refused read-only and reserved names."""
    if change.name in WRITABLE or change.name == "tags":
        if change.op == "remove":
            raise Forbidden(f"Property {change.name} may not be removed.")
        if change.name == "tags":
            _set_tags(image, change.value)
        else:
            _set_attribute(image, change.name, change.value)
    else:
        _change_property(image, change)
    _touch(image)
