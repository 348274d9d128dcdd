"""Receiving an image's data: queued → saving → active, or back to queued on failure.

The data streams from the request to the store; its size, md5 ``checksum`` and sha512
``os_hash_value`` are computed block by block on the writer thread as it goes, and the
size cap and format checks refuse it as early as they can.  Each status change is a
conditional UPDATE (``… WHERE status = 'saving'``), so two uploads racing for one image,
or an upload racing a delete, cannot both win, whichever API process serves them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database
from nimbus.db.models.image import Image
from nimbus.errors import BadRequest, Conflict, NimbusError, PayloadTooLarge, UnsupportedMediaType
from nimbus.image.formats import FormatInspector, InvalidImageData
from nimbus.storage.images import ImageStore

#: Glance's os_hash_algo default (hashing_algorithm).
HASH_ALGO = "sha512"


class Gone(NimbusError):
    code = 410
    title = "Gone"


def too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The incoming image is too large: the limit is {cap} bytes.")


@dataclass(frozen=True)
class Received:
    size: int
    checksum: str
    os_hash_value: str
    virtual_size: int | None


class Digest:
    """Everything learnt from the data while it is written; called on the writer thread."""

    def __init__(self, cap: int, inspector: FormatInspector) -> None:
        self.cap = cap
        self.inspector = inspector
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()

    def __call__(self, block: bytes) -> None:
        self.size += len(block)
        if self.size > self.cap:
            raise too_large(self.cap)
        self.inspector.feed(block)
        self.md5.update(block)
        self.sha512.update(block)

    def result(self) -> Received:
        return Received(
            size=self.size,
            checksum=self.md5.hexdigest(),
            os_hash_value=self.sha512.hexdigest(),
            virtual_size=self.inspector.finish(self.size),
        )


async def begin(session: AsyncSession, image: Image) -> None:
    """Claim a queued image for this upload (status saving), or refuse."""
    if image.status != "queued":
        raise Conflict(f"Image status transition from {image.status} to saving is not allowed")
    missing = [name for name in ("disk_format", "container_format") if not getattr(image, name)]
    if missing:
        noun = "Property" if len(missing) == 1 else "Properties"
        raise BadRequest(f"{noun} {', '.join(missing)} must be set prior to saving data.")
    claimed = await session.execute(
        update(Image).where(Image.id == image.id, Image.status == "queued").values(status="saving")
    )
    if claimed.rowcount != 1:
        raise Conflict("Image status transition from saving to saving is not allowed")


async def _restore(db: Database, image_id: str) -> None:
    """Back to queued, so the upload can be retried (Glance no longer uses 'killed')."""
    async with db.transaction() as session:
        await session.execute(
            update(Image)
            .where(Image.id == image_id, Image.status == "saving")
            .values(status="queued", size=None, virtual_size=None)
        )


async def _activate(db: Database, image_id: str, received: Received) -> bool:
    async with db.transaction() as session:
        result = await session.execute(
            update(Image)
            .where(Image.id == image_id, Image.status == "saving")
            .values(
                status="active",
                size=received.size,
                virtual_size=received.virtual_size,
                checksum=received.checksum,
                os_hash_algo=HASH_ALGO,
                os_hash_value=received.os_hash_value,
            )
        )
        return result.rowcount == 1


async def receive(
    db: Database, store: ImageStore, image: Image, chunks: AsyncIterable[bytes], cap: int
) -> None:
    """Stream `chunks` into the store for an image `begin` claimed, then activate it.

    On any failure the partial data is gone (the store guarantees it for a broken
    stream; a rejected format is deleted here) and the image is queued again.
    """
    digest = Digest(cap, FormatInspector(image.disk_format, image.container_format))
    try:
        try:
            await store.put(image.id, chunks, observe=digest)
            received = digest.result()
        except InvalidImageData as error:
            await store.delete(image.id)
            raise UnsupportedMediaType(str(error)) from None
    except BaseException:
        await asyncio.shield(_restore(db, image.id))
        raise
    if not await _activate(db, image.id, received):
        await store.delete(image.id)
        raise Gone(
            f"Image {image.id} could not be found after upload. The image may have been "
            "deleted during the upload, cleaning up the chunks uploaded."
        )
