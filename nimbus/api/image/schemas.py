"""Request bodies of the image resources.

Glance validates an image against its image schema (the one GET /v2/schemas/image
serves): typed base attributes, the properties of its default schema-image.json, and
any other property as a string.  `ImageDocument` is that schema in pydantic; a PATCH
validates each changed member against it the same way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Field, StringConstraints, field_validator, model_validator

from nimbus.api.common.body import Open, Strict

UUID_PATTERN = (
    r"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)
Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
String255 = Annotated[str, StringConstraints(max_length=255)]
Count = Annotated[int, Field(ge=0)]
DiskFormat = Literal[
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"
]
ContainerFormat = Literal["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]
Visibility = Literal["public", "private", "shared", "community"]
MemberStatus = Literal["pending", "accepted", "rejected"]


#: Properties Glance's schema-image.json types as plain (non-null) strings.
_STRING_PROPERTIES = (
    "instance_uuid",
    "architecture",
    "os_distro",
    "os_version",
    "description",
    "cinder_encryption_key_id",
    "cinder_encryption_key_deletion_policy",
)


class ImageDocument(Open):
    """The writable members of an image; unknown members are string properties."""

    id: Uuid | None = None
    name: String255 | None = None
    visibility: Visibility = "shared"
    protected: bool = False
    os_hidden: bool = False
    owner: String255 | None = None
    disk_format: DiskFormat | None = None
    container_format: ContainerFormat | None = None
    min_disk: Count = 0
    min_ram: Count = 0
    tags: list[String255] = Field(default_factory=list)
    # Glance's default schema-image.json: properties with a declared type.
    kernel_id: Uuid | None = None
    ramdisk_id: Uuid | None = None
    instance_uuid: str | None = None
    architecture: str | None = None
    os_distro: str | None = None
    os_version: str | None = None
    description: str | None = None
    cinder_encryption_key_id: str | None = None
    cinder_encryption_key_deletion_policy: Literal["on_image_deletion", "do_not_delete"] | None = (
        None
    )

    @model_validator(mode="after")
    def _properties_are_strings(self) -> Self:
        for name, value in (self.model_extra or {}).items():
            if len(name) > 255:
                raise ValueError("Custom property should not be greater than 255 characters.")
            if not isinstance(value, str):
                raise ValueError(f"property {name!r} must be a string")
        return self

    @field_validator(*_STRING_PROPERTIES)
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        """Given, these must be strings (None only stands for "not given")."""
        if value is None:
            raise ValueError("Input should be a valid string")
        return value

    def given(self) -> dict[str, Any]:
        """The members the client sent, properties included."""
        return self.model_dump(exclude_unset=True)


class MemberCreate(Strict):
    member: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class MemberUpdate(Strict):
    status: MemberStatus
