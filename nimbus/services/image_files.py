"""What the compute agent hands its driver about an image: the local file of its data
and, when its properties name them (`kernel_id`, `ramdisk_id`, `os_command_line`), a
kernel and ramdisk to boot directly, as Nova's libvirt driver does for such images.
Drivers never read the database; the agent resolves these for them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.image import Image, ImageProperty
from nimbus.storage.images import ImageStore
from nimbus.virt.driver import DirectBoot, ImageFile, ImageUnusable

#: The image properties that ask for a direct kernel boot.
DIRECT_BOOT_PROPERTIES = ("kernel_id", "ramdisk_id", "os_command_line")


def image_file(store: ImageStore, image: Image) -> ImageFile:
    return ImageFile(image.id, store.path(image.id), image.os_hash_value)


async def direct_boot(session: AsyncSession, store: ImageStore, image: Image) -> DirectBoot | None:
    """The kernel, ramdisk and command line `image` names, or None if it names no
    kernel. A kernel or ramdisk id that names no image is an error the build reports."""
    rows = await session.execute(
        select(ImageProperty.name, ImageProperty.value).where(
            ImageProperty.image_id == image.id,
            ImageProperty.name.in_(DIRECT_BOOT_PROPERTIES),
        )
    )
    properties = {name: value for name, value in rows if value}
    if "kernel_id" not in properties:
        return None

    async def named(key: str) -> ImageFile | None:
        if key not in properties:
            return None
        found = await session.get(Image, properties[key])
        if found is None:
            raise ImageUnusable(f"image {image.id}: its {key} {properties[key]} is not an image")
        return image_file(store, found)

    kernel = await named("kernel_id")
    assert kernel is not None
    return DirectBoot(kernel, await named("ramdisk_id"), properties.get("os_command_line"))
