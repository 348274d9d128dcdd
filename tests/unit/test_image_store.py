"""The file image store and the qcow2 inspection, without HTTP."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nimbus.image.formats import FormatInspector, InvalidImageData
from nimbus.storage.images import BLOCK, FileImageStore, ImageDataMissing
from tests.api.image_helpers import qcow2


async def stream(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


class Recorder(list[int]):
    """Observes the blocks a put writes (their sizes)."""

    def __call__(self, block: bytes) -> None:
        self.append(len(block))


async def test_put_open_delete(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path / "images")
    size = await store.put("img-1", stream(b"a" * BLOCK, b"b" * 10, b"c"), Recorder())
    assert size == BLOCK + 11
    assert await collect(await store.open("img-1")) == b"a" * BLOCK + b"b" * 10 + b"c"
    assert await collect(await store.open("img-1", BLOCK, 5)) == b"bbbbb"
    await store.delete("img-1")
    await store.delete("img-1")
    with pytest.raises(ImageDataMissing):
        await store.open("img-1")


async def test_blocks_are_regrouped_and_observed(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path)
    seen = Recorder()
    parts = [b"x" * 1000] * (2 * BLOCK // 1000 + 3)
    await store.put("regroup", stream(*parts), seen)
    assert all(size >= BLOCK for size in seen[:-1]) and sum(seen) == 1000 * len(parts)


async def test_a_failed_put_leaves_nothing(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path)
    await store.put("keep", stream(b"old"))

    def refuse(block: bytes) -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        await store.put("keep", stream(b"new" * BLOCK), refuse)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
    assert (tmp_path / "keep").read_bytes() == b"old"


def test_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path)
    for key in ("../etc", ".hidden", "a/b", ""):
        with pytest.raises(ValueError):
            store.path(key)


def _features(value: int) -> bytes:
    header = bytearray(qcow2())
    header[0x48:0x50] = struct.pack(">Q", value)
    return bytes(header)


@pytest.mark.parametrize(
    ("data", "why"),
    [(_features(0b0100), "data_file"), (_features(1 << 9), "Unknown QCOW2 features")],
)
def test_unsafe_qcow2_is_refused(data: bytes, why: str) -> None:
    inspector = FormatInspector("qcow2", "bare")
    with pytest.raises(InvalidImageData, match=why):
        inspector.feed(data)


def test_known_features_and_version_2_pass() -> None:
    for data in (_features(0b0011), qcow2(7 << 20, version=2)):
        inspector = FormatInspector("qcow2", "bare")
        inspector.feed(data[:100])
        inspector.feed(data[100:])
        assert inspector.finish(len(data)) in (1 << 30, 7 << 20)
