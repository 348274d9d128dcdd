"""The guest image a fresh QEMU cloud offers: `nimbus up` registers the image built by
nimbus.guest as a public image on first start, so `openstack server create --image
nimbus-guest` works on a new install.

Its kernel and initramfs are registered beside it as `aki`/`ari` images, and the disk
image names them (`kernel_id`, `ramdisk_id`, `os_command_line`), as devstack registers
cirros's "uec" kernel: QEMU then loads them directly instead of the BIOS reading them
through the disk's bootloader, a second of every boot under TCG (docs/benchmarks.md).
The disk keeps its own bootloader, so the image and its snapshots boot anywhere.

Building can take minutes on a cold cache, so it runs on a daemon thread after the cloud
is ready (a cloud stopped meanwhile does not wait for it); an image of that name already
in the image service means there is nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from nimbus.db.engine import Database
from nimbus.db.models.image import Image
from nimbus.image import upload
from nimbus.image.images import create_image
from nimbus.storage.images import ImageStore

LOG = logging.getLogger(__name__)
T = TypeVar("T")


async def _on_daemon_thread(work: Callable[[], T]) -> T:
    """`work()` on a thread that never holds up the process's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        def settle() -> None:
            if not future.done():
                setter(value)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle)

    def run() -> None:
        try:
            result = work()
        except BaseException as error:  # handed to the awaiting task
            deliver(future.set_exception, error)
        else:
            deliver(future.set_result, result)

    threading.Thread(target=run, name="nimbus-guest-image", daemon=True).start()
    return await future


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while block := await asyncio.to_thread(handle.read, 1 << 20):
            yield block
    finally:
        handle.close()


async def _upload(
    db: Database, store: ImageStore, path: Path, **fields: Any
) -> str:
    """A public image of the file at `path`; its id."""
    async with db.transaction() as session:
        image = await create_image(session, tags=[], visibility="public", **fields)
        await upload.begin(session, image)
    await upload.receive(db, store, image, _chunks(path), 1 << 40)
    return image.id


async def register(db: Database, store: ImageStore, owner: str) -> str | None:
    """Register the guest image, its kernel and initramfs (building them if needed)
    unless an image of its name exists; the disk image's id, or None when there was
    nothing to do."""
    import nimbus.guest

    name = nimbus.guest.IMAGE_NAME
    async with db.transaction() as session:
        if await session.scalar(select(Image.id).where(Image.name == name)):
            return None
    path = await _on_daemon_thread(nimbus.guest.cached_image)
    kernel, initrd = nimbus.guest.boot_files(path)
    boot = {
        "kernel_id": await _upload(
            db, store, kernel, owner=owner, properties={}, name=f"{name}-kernel",
            disk_format="aki", container_format="aki",
        ),
        "ramdisk_id": await _upload(
            db, store, initrd, owner=owner, properties={}, name=f"{name}-ramdisk",
            disk_format="ari", container_format="ari",
        ),
        "os_command_line": nimbus.guest.KERNEL_CMDLINE,
    }  # fmt: skip
    image_id = await _upload(
        db, store, path, owner=owner, properties={**nimbus.guest.IMAGE_PROPERTIES, **boot},
        name=name, disk_format="qcow2", container_format="bare",
    )  # fmt: skip
    LOG.info("registered the guest image %s as %s (%s)", path, image_id, boot)
    return image_id
