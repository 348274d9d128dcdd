"""Servers as a user drives them: the real `openstack` CLI against a real `nimbus up`
(fake driver), from boot to snapshot to delete."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import as_json, openstack
from tests.functional.test_cli_image import qcow2_file
from tests.processes import Running, free_offset, rc_environment, start


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("cli-servers-cloud")
    running: Running = start(
        ["up", "--data-dir", str(data_dir), "--driver", "fake"], offset=free_offset()
    )
    try:
        yield rc_environment(data_dir / "adminrc")
    finally:
        assert running.stop() == 0


def _show(env: dict[str, str], server: str) -> dict[str, Any]:
    return as_json(env, "server", "show", server)


def _flavor(shown: dict[str, Any]) -> str:
    """The flavor's name as `server show` prints it (a dict from microversion 2.47)."""
    flavor = shown["flavor"]
    return flavor.get("name") or flavor["original_name"] if isinstance(flavor, dict) else flavor


def _until(env: dict[str, str], server: str, status: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        shown = _show(env, server)
        if shown["status"] == status and not shown.get("OS-EXT-STS:task_state"):
            return shown
        assert time.monotonic() < deadline, f"{server} stuck in {shown['status']}"
        time.sleep(0.2)


def test_server_lifecycle(admin: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "img.qcow2"
    qcow2_file(source, 1 << 30)
    openstack(admin, "image", "create", "--disk-format", "qcow2", "--file", str(source), "img")
    openstack(admin, "keypair", "create", "k1")
    flavors = [f["Name"] for f in as_json(admin, "flavor", "list")]
    if "m1.tiny" not in flavors:
        openstack(
            admin, "flavor", "create", "--ram", "512", "--disk", "1", "--vcpus", "1", "m1.tiny"
        )

    created = as_json(
        admin,
        "server",
        "create",
        "--flavor",
        "m1.tiny",
        "--image",
        "img",
        "--key-name",
        "k1",
        "--wait",
        "vm1",
    )
    assert created["status"] == "ACTIVE"
    listed = as_json(admin, "server", "list")
    assert [(s["Name"], s["Status"]) for s in listed] == [("vm1", "ACTIVE")]
    shown = _show(admin, "vm1")
    assert shown["key_name"] == "k1" and _flavor(shown) == "m1.tiny"

    for verb, status in [
        ("reboot", "ACTIVE"),
        ("stop", "SHUTOFF"),
        ("start", "ACTIVE"),
        ("pause", "PAUSED"),
        ("unpause", "ACTIVE"),
        ("suspend", "SUSPENDED"),
        ("resume", "ACTIVE"),
    ]:
        openstack(admin, "server", verb, "vm1")
        _until(admin, "vm1", status)

    openstack(admin, "server", "resize", "--flavor", "m1.small", "--wait", "vm1")
    _until(admin, "vm1", "VERIFY_RESIZE")
    openstack(admin, "server", "resize", "confirm", "vm1")
    resized = _until(admin, "vm1", "ACTIVE")
    assert _flavor(resized) == "m1.small"

    openstack(admin, "server", "image", "create", "--wait", "--name", "snap", "vm1")
    snap = as_json(admin, "image", "show", "snap")
    assert snap["status"] == "active"
    child = as_json(
        admin, "server", "create", "--flavor", "m1.small", "--image", "snap", "--wait", "vm2"
    )
    assert child["status"] == "ACTIVE"

    events = as_json(admin, "server", "event", "list", "vm1")
    actions = [e["Action"] for e in events]
    assert {"create", "reboot", "stop", "resize", "confirmResize", "createImage"} <= set(actions)
    console = openstack(admin, "console", "log", "show", "vm1").stdout
    assert "vm1 login:" in console

    openstack(admin, "server", "delete", "--wait", "vm1", "vm2")
    assert as_json(admin, "server", "list") == []
