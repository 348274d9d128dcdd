"""Image tables: the Glance v2 data model.

Extra properties live in their own table (one row per key, as in Glance) rather than
in a JSON column, so that `GET /v2/images?key=value` filters in SQL on every backend.
Images are deleted for real, with their properties, tags and members: nothing in the
API shows deleted images, so keeping them would only cost space.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nimbus.db.base import ApiBase, utcnow


def new_image_id() -> str:
    """Glance's ids are dashed UUIDs (Keystone's are 32 bare hex digits)."""
    return str(uuid.uuid4())


class Image(ApiBase):
    __tablename__ = "image"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_image_id)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    owner: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    visibility: Mapped[str] = mapped_column(String(9), index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32), index=True)
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128), index=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    # Every view of an image shows both, so they load with it (one IN query each).
    properties: Mapped[list[ImageProperty]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )
    tags: Mapped[list[ImageTag]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )


class ImageProperty(ApiBase):
    """A free-form property of an image (Glance's "additional properties").

    Values are strings; null only for the properties Glance's image schema declares
    nullable (kernel_id, ramdisk_id).
    """

    __tablename__ = "image_property"

    image_id: Mapped[str] = mapped_column(
        ForeignKey("image.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


class ImageTag(ApiBase):
    __tablename__ = "image_tag"

    image_id: Mapped[str] = mapped_column(
        ForeignKey("image.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class ImageMember(ApiBase):
    """A project a shared image is offered to, and whether it accepted the offer."""

    __tablename__ = "image_member"

    image_id: Mapped[str] = mapped_column(
        ForeignKey("image.id", ondelete="CASCADE"), primary_key=True
    )
    member: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
