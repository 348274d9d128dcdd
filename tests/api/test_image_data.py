"""Image data: upload and download round trips, hashes, status transitions, the
qcow2 check, the size cap, ranges and deactivation."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Cloud
from tests.api.image_helpers import create, fault, image_client, qcow2, show, upload

RAW = {"disk_format": "raw", "container_format": "bare"}
QCOW2 = {"disk_format": "qcow2", "container_format": "bare"}


def store_dir(cloud: Cloud) -> Path:
    return cloud.process.settings.data_dir / "images"


@pytest.fixture
def size_cap(cloud: Cloud) -> Iterator[int]:
    """Lower the image app's upload cap to 64 KiB for one test."""
    state = cloud.apps["image"].app.state
    saved, state.image_size_cap = state.image_size_cap, 1 << 16
    yield state.image_size_cap
    state.image_size_cap = saved


async def test_round_trip_computes_size_and_hashes(cloud: Cloud) -> None:
    data = bytes(range(256)) * 12_000  # 3 MiB: several store blocks
    async with await image_client(cloud) as client:
        image = await create(client, name="round-trip", **RAW)
        uploaded = await upload(client, image["id"], data)
        active = await show(client, image["id"])
        download = await client.get(f"/v2/images/{image['id']}/file")
    assert uploaded.status_code == 204, uploaded.text
    assert active["status"] == "active" and active["size"] == len(data)
    assert active["virtual_size"] == len(data)
    assert active["checksum"] == hashlib.md5(data).hexdigest()
    assert active["os_hash_algo"] == "sha512"
    assert active["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-md5"] == active["checksum"]
    assert download.headers["content-type"] == "application/octet-stream"
    assert int(download.headers["content-length"]) == len(data)
    assert (store_dir(cloud) / image["id"]).stat().st_size == len(data)


async def test_upload_is_streamed_from_chunks(cloud: Cloud) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(40):
            yield bytes([index]) * 50_000

    expected = b"".join(bytes([index]) * 50_000 for index in range(40))
    async with await image_client(cloud) as client:
        image = await create(client, name="chunked", disk_format="iso", container_format="bare")
        response = await client.put(
            f"/v2/images/{image['id']}/file",
            content=chunks(),
            headers={"content-type": "application/octet-stream"},
        )
        active = await show(client, image["id"])
    assert response.status_code == 204, response.text
    assert active["size"] == len(expected) and active["virtual_size"] is None
    assert active["checksum"] == hashlib.md5(expected).hexdigest()


async def test_qcow2_upload_reads_the_virtual_size(cloud: Cloud) -> None:
    data = qcow2(virtual_size=5 << 30)
    async with await image_client(cloud) as client:
        image = await create(client, name="good-qcow2", **QCOW2)
        response = await upload(client, image["id"], data)
        active = await show(client, image["id"])
    assert response.status_code == 204, response.text
    assert active["status"] == "active" and active["virtual_size"] == 5 << 30


@pytest.mark.parametrize(
    ("fields", "data", "why"),
    [
        (QCOW2, b"\0" * 4096, "does not match"),
        (QCOW2, b"QFI\xfb", "does not match"),
        (QCOW2, qcow2(version=4), "version"),
        (QCOW2, qcow2(backing=0x200), "backing file"),
        ({"disk_format": "vmdk", "container_format": "bare"}, qcow2(), "does not match"),
    ],
)
async def test_format_mismatch_is_refused_and_image_stays_queued(
    cloud: Cloud, fields: dict[str, str], data: bytes, why: str
) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="bad-format", **fields)
        response = await upload(client, image["id"], data)
        after = await show(client, image["id"])
        assert not list(store_dir(cloud).glob(f"*{image['id']}*"))
        retry = await upload(client, image["id"], qcow2() if fields == QCOW2 else b"x" * 600)
    assert why in fault(response, 415)
    assert after["status"] == "queued" and after["size"] is None
    assert retry.status_code == 204, retry.text  # queued again: a good upload succeeds


async def test_qcow2_data_may_be_called_raw_and_only_bare_is_inspected(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        raw = await create(client, name="qcow2-as-raw", **RAW)
        ovf = await create(client, name="raw-in-ovf", disk_format="qcow2", container_format="ovf")
        as_raw = await upload(client, raw["id"], qcow2())
        in_ovf = await upload(client, ovf["id"], b"not a qcow2 header")
    assert as_raw.status_code == 204 and in_ovf.status_code == 204


async def test_size_cap_is_413_and_leaves_nothing(cloud: Cloud, size_cap: int) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="too-big", **RAW)
        declared = await upload(client, image["id"], b"x" * (size_cap + 1))

        async def undeclared() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"y" * size_cap

        streamed = await client.put(
            f"/v2/images/{image['id']}/file",
            content=undeclared(),
            headers={"content-type": "application/octet-stream"},
        )
        after = await show(client, image["id"])
        fits = await upload(client, image["id"], b"z" * size_cap)
    assert "too large" in fault(declared, 413)
    assert "too large" in fault(streamed, 413)
    assert after["status"] == "queued"
    assert fits.status_code == 204
    assert [path.name for path in store_dir(cloud).glob(f"*{image['id']}*")] == [image["id"]]


async def test_upload_preconditions(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        bare = await create(client, name="no-formats")
        no_formats = await upload(client, bare["id"], b"data")
        image = await create(client, name="twice", **RAW)
        first = await upload(client, image["id"], b"data")
        second = await upload(client, image["id"], b"more")
        wrong_type = await client.put(
            f"/v2/images/{image['id']}/file", content=b"x", headers={"content-type": "text/plain"}
        )
        missing = await upload(client, "no-such-image", b"x")
        bad_size = await upload(client, image["id"], b"x", **{"x-openstack-image-size": "many"})
    assert "disk_format, container_format must be set" in fault(no_formats, 400)
    assert first.status_code == 204, first.text
    assert "active to saving" in fault(second, 409)
    fault(wrong_type, 415)
    fault(missing, 404)
    fault(bad_size, 400)


async def test_download_without_data_is_204(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="empty", **RAW)
        response = await client.get(f"/v2/images/{image['id']}/file")
    assert response.status_code == 204 and response.content == b""


async def test_ranges(cloud: Cloud) -> None:
    data = bytes(range(100))
    async with await image_client(cloud) as client:
        image = await create(client, name="ranged", **RAW)
        await upload(client, image["id"], data)
        url = f"/v2/images/{image['id']}/file"
        middle = await client.get(url, headers={"range": "bytes=10-19"})
        tail = await client.get(url, headers={"range": "bytes=-5"})
        open_ended = await client.get(url, headers={"range": "bytes=95-"})
        beyond = await client.get(url, headers={"range": "bytes=100-"})
        garbage = await client.get(url, headers={"range": "lines=1-2"})
    assert middle.status_code == 206 and middle.content == data[10:20]
    assert middle.headers["content-range"] == "bytes 10-19/100"
    assert tail.content == data[-5:] and open_ended.content == data[95:]
    fault(beyond, 416)
    fault(garbage, 416)


async def test_deactivated_data_is_403_until_reactivated(cloud: Cloud) -> None:
    async with await image_client(cloud) as admin:
        image = await create(admin, name="deactivate-me", visibility="public", **RAW)
        await upload(admin, image["id"], b"payload")
        deactivated = await admin.post(f"/v2/images/{image['id']}/actions/deactivate")
        again = await admin.post(f"/v2/images/{image['id']}/actions/deactivate")
        status = (await show(admin, image["id"]))["status"]
        admin_download = await admin.get(f"/v2/images/{image['id']}/file")
    await cloud.make_user("data-reader", role="member", password="secret-pw")
    async with await image_client(cloud, "data-reader") as user:
        refused = await user.get(f"/v2/images/{image['id']}/file")
        async with await image_client(cloud) as admin:
            reactivated = await admin.post(f"/v2/images/{image['id']}/actions/reactivate")
        allowed = await user.get(f"/v2/images/{image['id']}/file")
    assert deactivated.status_code == again.status_code == 204
    assert status == "deactivated" and admin_download.content == b"payload"
    assert "deactivated" in fault(refused, 403)
    assert reactivated.status_code == 204 and allowed.content == b"payload"


async def test_delete_removes_the_data(cloud: Cloud) -> None:
    async with await image_client(cloud) as client:
        image = await create(client, name="delete-data", **RAW)
        await upload(client, image["id"], b"bytes")
        assert (store_dir(cloud) / image["id"]).exists()
        response = await client.delete(f"/v2/images/{image['id']}")
    assert response.status_code == 204
    assert not (store_dir(cloud) / image["id"]).exists()
