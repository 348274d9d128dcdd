"""GET /v2/schemas/{image,images,member,members}: the JSON schemas Glance publishes.

Clients read these to learn which image attributes exist and which are read-only
(openstackclient and glanceclient build their option parsing and validation on them),
so they describe exactly what the API accepts: the base attributes, the default
schema-image.json properties, and any other property as a string.  They are static.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import Handler, json_response
from nimbus.api.image.schemas import UUID_PATTERN
from nimbus.image.images import CONTAINER_FORMATS, DISK_FORMATS, STATUSES, VISIBILITIES


def _attribute(kind: str | list[str], description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


def _read_only(kind: str | list[str], description: str, **extra: Any) -> dict[str, Any]:
    return _attribute(kind, description, readOnly=True, **extra)


_NULLABLE_STRING = ["null", "string"]

_IMAGE_PROPERTIES: dict[str, Any] = {
    "id": _attribute("string", "An identifier for the image", pattern=UUID_PATTERN),
    "name": _attribute(_NULLABLE_STRING, "Descriptive name for the image", maxLength=255),
    "status": _read_only("string", "Status of the image", enum=list(STATUSES)),
    "visibility": _attribute("string", "Scope of image accessibility", enum=list(VISIBILITIES)),
    "protected": _attribute("boolean", "If true, image will not be deletable."),
    "os_hidden": _attribute(
        "boolean", "If true, image will not appear in default image list response."
    ),
    "checksum": _read_only(_NULLABLE_STRING, "md5 hash of image contents.", maxLength=32),
    "os_hash_algo": _read_only(
        _NULLABLE_STRING, "Algorithm to calculate the os_hash_value", maxLength=64
    ),
    "os_hash_value": _read_only(
        _NULLABLE_STRING,
        "Hexdigest of the image contents using the algorithm specified by the os_hash_algo",
        maxLength=128,
    ),
    "owner": _attribute(_NULLABLE_STRING, "Owner of the image", maxLength=255),
    "size": _read_only(["null", "integer"], "Size of image file in bytes"),
    "virtual_size": _read_only(["null", "integer"], "Virtual size of image in bytes"),
    "container_format": _attribute(
        _NULLABLE_STRING, "Format of the container", enum=[None, *CONTAINER_FORMATS]
    ),
    "disk_format": _attribute(_NULLABLE_STRING, "Format of the disk", enum=[None, *DISK_FORMATS]),
    "created_at": _read_only("string", "Date and time of image registration"),
    "updated_at": _read_only("string", "Date and time of the last image modification"),
    "tags": _attribute(
        "array",
        "List of strings related to the image",
        items={"type": "string", "maxLength": 255},
    ),
    "direct_url": _read_only("string", "URL to access the image file kept in external store"),
    "min_ram": _attribute("integer", "Amount of ram (in MB) required to boot image."),
    "min_disk": _attribute("integer", "Amount of disk space (in GB) required to boot image."),
    "self": _read_only("string", "An image self url"),
    "file": _read_only("string", "An image file url"),
    "stores": _read_only("string", "Store in which image data resides."),
    "schema": _read_only("string", "An image schema url"),
    "locations": _attribute(
        "array",
        "A set of URLs to access the image file kept in external store",
        items={
            "type": "object",
            "properties": {
                "url": {"type": "string", "maxLength": 255},
                "metadata": {"type": "object"},
            },
            "required": ["url", "metadata"],
        },
    ),
}


def _custom(kind: str | list[str], description: str, **extra: Any) -> dict[str, Any]:
    """A property of Glance's default schema-image.json (not a base attribute)."""
    return {**_attribute(kind, description, **extra), "is_base": False}


_CUSTOM_PROPERTIES: dict[str, Any] = {
    "kernel_id": _custom(
        _NULLABLE_STRING,
        "ID of image stored in Glance that should be used as the kernel when booting an "
        "AMI-style image.",
        pattern=UUID_PATTERN,
    ),
    "ramdisk_id": _custom(
        _NULLABLE_STRING,
        "ID of image stored in Glance that should be used as the ramdisk when booting an "
        "AMI-style image.",
        pattern=UUID_PATTERN,
    ),
    "instance_uuid": _custom(
        "string",
        "Metadata which can be used to record which instance this image is associated with.",
    ),
    "architecture": _custom("string", "Operating system architecture"),
    "os_distro": _custom("string", "Common name of operating system distribution"),
    "os_version": _custom("string", "Operating system version as specified by the distributor."),
    "description": _custom("string", "A human-readable string describing this image."),
    "cinder_encryption_key_id": _custom(
        "string",
        "Identifier in the OpenStack Key Management Service for the encryption key for the "
        "Block Storage Service to use when mounting a volume created from this image",
    ),
    "cinder_encryption_key_deletion_policy": _custom(
        "string",
        "States the condition under which the Image Service will delete the object associated "
        "with the 'cinder_encryption_key_id' image property.",
        enum=["on_image_deletion", "do_not_delete"],
    ),
}

IMAGE_SCHEMA: dict[str, Any] = {
    "name": "image",
    "properties": {**_IMAGE_PROPERTIES, **_CUSTOM_PROPERTIES},
    "additionalProperties": {"type": "string"},
    "links": [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ],
}

MEMBER_SCHEMA: dict[str, Any] = {
    "name": "member",
    "properties": {
        "member_id": _attribute("string", "An identifier for the image member (tenantId)"),
        "image_id": _attribute("string", "An identifier for the image", pattern=UUID_PATTERN),
        "created_at": _attribute("string", "Date and time of image member creation"),
        "updated_at": _attribute("string", "Date and time of last modification of image member"),
        "status": _attribute(
            "string", "The status of this image member", enum=["pending", "accepted", "rejected"]
        ),
        "schema": {"readOnly": True, "type": "string"},
    },
}


def _collection(name: str, item: dict[str, Any], *, paged: bool) -> dict[str, Any]:
    """A list document's schema; paged lists (images) also have first and next links."""
    links = ("first", "next", "schema") if paged else ("schema",)
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            **{link: {"type": "string"} for link in links},
        },
        "links": [
            {"rel": "describedby" if link == "schema" else link, "href": f"{{{link}}}"}
            for link in links
        ],
    }


IMAGES_SCHEMA = _collection("images", IMAGE_SCHEMA, paged=True)
MEMBERS_SCHEMA = _collection("members", MEMBER_SCHEMA, paged=False)


def _serve(document: dict[str, Any]) -> Handler:
    async def handler(request: Request) -> Response:
        return json_response(document)

    return handler


image_schema = _serve(IMAGE_SCHEMA)
images_schema = _serve(IMAGES_SCHEMA)
member_schema = _serve(MEMBER_SCHEMA)
members_schema = _serve(MEMBERS_SCHEMA)
