"""The Image service as a user drives it: the real `openstack` CLI against a real
`nimbus up`, from upload to download to delete."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import as_json, openstack
from tests.processes import Running, free_offset, rc_environment, start


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("cli-image-cloud")
    running: Running = start(
        ["up", "--data-dir", str(data_dir), "--driver", "fake"], offset=free_offset()
    )
    try:
        yield rc_environment(data_dir / "adminrc")
    finally:
        assert running.stop() == 0


def qcow2_file(path: Path, virtual_size: int) -> bytes:
    """A qcow2 header (v3, no backing file) padded to 256 KiB, as qemu-img would start it."""
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        *(b"QFI\xfb", 3, 0, 0, 16, virtual_size, 0, 1, 0x30000, 0x10000, 1, 0, 0),
        *(0, 0, 0, 4, 104),
    )
    data = header.ljust(1 << 18, b"\0")
    path.write_bytes(data)
    return data


def test_image_lifecycle(admin: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "cirros.qcow2"
    data = qcow2_file(source, 1 << 30)
    created = as_json(
        admin, "image", "create", "--disk-format", "qcow2", "--file", str(source), "cirros"
    )
    assert created["status"] == "active" and created["size"] == len(data)
    assert created["checksum"] == hashlib.md5(data).hexdigest()

    listed = as_json(admin, "image", "list")
    assert [(i["Name"], i["Status"]) for i in listed] == [("cirros", "active")]

    shown = as_json(admin, "image", "show", "cirros")
    assert shown["id"] == created["id"] and shown["virtual_size"] == 1 << 30
    assert shown["disk_format"] == "qcow2" and shown["container_format"] == "bare"

    saved = tmp_path / "saved.qcow2"
    openstack(admin, "image", "save", "--file", str(saved), "cirros")
    assert saved.read_bytes() == data

    openstack(admin, "image", "delete", "cirros")
    assert as_json(admin, "image", "list") == []
    missing = openstack(admin, "image", "show", "cirros", ok=False)
    assert missing.returncode != 0 and "cirros" in missing.stderr


def test_mismatched_data_is_refused(admin: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "not-qcow2"
    source.write_bytes(b"\0" * 4096)
    refused = openstack(
        admin, "image", "create", "--disk-format", "qcow2", "--file", str(source), "liar", ok=False
    )
    assert refused.returncode != 0 and "415" in refused.stderr
    assert all(i["Name"] != "liar" for i in as_json(admin, "image", "list"))
