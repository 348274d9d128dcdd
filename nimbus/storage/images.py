"""Image data at rest: a store keeps the bytes of each image under its id.

Uploads arrive as a stream of request chunks and downloads leave as one; the store
moves them in blocks of about `BLOCK` bytes on worker threads, so an image of any size
never sits in memory and no file operation blocks the event loop.  An upload is written
to a temporary file and renamed into place only when complete, so a failed or
interrupted upload never leaves partial data where a download could find it.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO, Protocol

#: Write and read granularity: large enough that a thread hop per block costs nothing.
BLOCK = 1 << 20
#: Store keys are image ids; anything else could escape the store's directory.
_KEY = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$")

#: Called in the writer thread with each block before it is written; raising aborts.
Observer = Callable[[bytes], None]


class ImageDataMissing(Exception):
    """The store holds no data under the requested key."""


class ImageStore(Protocol):
    """Where image bytes live; the file store is the one backend for now."""

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], observe: Observer | None = None
    ) -> int:
        """Store the stream under `key` (replacing any data) and return its size."""
        ...

    async def open(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """The stored bytes from `offset`, `length` of them (all when None), in blocks.

        Raises ImageDataMissing before anything is read, so that callers can answer
        accordingly instead of failing half-way through a response.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove the data under `key`; nothing there is not an error."""
        ...

    def path(self, key: str) -> Path:
        """Where the data lives on this host (qemu-img and the compute driver read it)."""
        ...


async def _blocks(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """Regroup arbitrary chunks into blocks of at least `size` bytes (the last may be short)."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _write(handle: BinaryIO, block: bytes, observe: Observer | None) -> None:
    if observe is not None:
        observe(block)
    handle.write(block)


def _commit(handle: BinaryIO, partial: Path, final: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(partial, final)


def _read(handle: BinaryIO, size: int) -> bytes:
    return handle.read(size)


def _open_at(path: Path, offset: int) -> BinaryIO:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ImageDataMissing(str(path)) from None
    handle.seek(offset)
    return handle


class FileImageStore:
    """Each image is one file, `<root>/<image id>`.

    In the scale-out mode every API process must see the same `root` (shared storage),
    as with Glance's file store.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a valid image store key: {key!r}")
        return self.root / key

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], observe: Observer | None = None
    ) -> int:
        final = self.path(key)
        partial = final.with_name(f".{key}.{uuid.uuid4().hex}.part")
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(partial.open, "wb")
        size = 0
        try:
            async for block in _blocks(chunks, BLOCK):
                await asyncio.to_thread(_write, handle, block, observe)
                size += len(block)
            await asyncio.to_thread(_commit, handle, partial, final)
        except BaseException:
            # Synchronous on purpose: this must also run while the task is being
            # cancelled, when awaiting a thread would be cut short.
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        return size

    async def open(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(_open_at, self.path(key), offset)
        return self._stream(handle, length)

    @staticmethod
    async def _stream(handle: BinaryIO, length: int | None) -> AsyncIterator[bytes]:
        remaining = length
        try:
            while remaining is None or remaining > 0:
                size = BLOCK if remaining is None else min(BLOCK, remaining)
                block = await asyncio.to_thread(_read, handle, size)
                if not block:
                    return
                if remaining is not None:
                    remaining -= len(block)
                yield block
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)
