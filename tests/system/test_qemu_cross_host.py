"""Resize and cold migration between two QEMU compute agents that share no instances
directory: the root disk travels through the image service (a hidden image the source
uploads and the destination builds from, then deletes).

One real guest carries the story, each step checked on the hosts (which agent's
directory its QEMU runs from, with how much memory) and on its console: its first
boot's user_data leaves a marker file and makes every later boot print it, so a boot
that prints it runs on the disk the first boot wrote. The guest is resized to a larger
flavor on the other host and reverted, then cold-migrated there and confirmed.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nimbus.guest import BOOT_LINE, READY_LINE
from tests.processes import Running
from tests.system.qemu_support import BOOT_TIMEOUT, cmdline, kill_all, needs_qemu, qemu_pids
from tests.system.scale_out import (
    admin_headers,
    agents_up,
    serve,
    server,
    status_is,
    upload_image,
    wait,
)

pytestmark = [pytest.mark.system, needs_qemu]

#: First boot: a marker file, and a line in inittab that prints it at every later boot
#: (the guest runs user_data once per instance).
MARKER_USER_DATA = """#!/bin/sh
echo "marker {token}" > /root/marker
echo "::sysinit:/bin/cat /root/marker" >> /etc/inittab
sync
"""


@dataclass
class Cloud:
    api: Running
    headers: dict[str, str]
    data_dir: Path
    #: host name → that agent's instances directory
    instances: dict[str, Path]
    #: the guest image's id
    image: str

    def action(self, server_id: str, body: dict[str, Any], status: int = 202) -> httpx.Response:
        response = httpx.post(
            f"{self.api.url('compute')}/v2.1/servers/{server_id}/action",
            headers=self.headers,
            json=body,
            timeout=60,
        )
        assert response.status_code == status, response.text
        return response

    def console(self, server_id: str) -> str:
        return self.action(server_id, {"os-getConsoleOutput": {}}, 200).json()["output"]

    def wait_status(self, server_id: str, status: str) -> dict[str, Any]:
        return wait(
            lambda: status_is(self.api, self.headers, server_id, status),
            f"{server_id} {status}",
            BOOT_TIMEOUT,
        )

    def wait_console(self, server_id: str, text: str, count: int = 1) -> str:
        """The console once `text` shows on it `count` times."""

        def shown() -> str | None:
            output = self.console(server_id)
            return output if output.count(text) >= count else None

        return wait(shown, f"{text!r} x{count} on the console of {server_id}", BOOT_TIMEOUT)

    def host_of(self, server_id: str) -> str:
        return server(self.api, self.headers, server_id)["OS-EXT-SRV-ATTR:host"]

    def qemu_memory(self, host: str, server_id: str) -> int:
        """The MiB of the guest's QEMU, which must run from `host`'s instances
        directory and from no other."""
        where = {h for h, path in self.instances.items() if server_id in qemu_pids(path)}
        assert where == {host}, f"the QEMU of {server_id} runs under {where}, not {host}"
        argv = cmdline(qemu_pids(self.instances[host])[server_id])
        return int(argv[argv.index("-m") + 1])

    def guest_dirs(self, host: str) -> set[str]:
        """The guests' directories (and kept ones) under `host`'s instances directory."""
        found = self.instances[host].iterdir()
        return {path.name for path in found if path.is_dir() and path.name[0] != "_"}

    def migration_images(self) -> set[str]:
        """Images besides the guest image: in the shared store, or hidden ones listed
        (a migration image is both while it lives)."""
        stored = {p.name for p in (self.data_dir / "images").iterdir() if p.is_file()}
        hidden = httpx.get(
            f"{self.api.url('image')}/v2/images",
            params={"os_hidden": "true"},
            headers=self.headers,
        )
        assert hidden.status_code == 200, hidden.text
        return (stored | {image["id"] for image in hidden.json()["images"]}) - {self.image}


@pytest.fixture
def cloud(postgres_url: str, tmp_path: Path, guest_image: Path) -> Iterator[Cloud]:
    """Two QEMU agents (one machine, an instances directory each, one image store) and
    the guest image uploaded; every QEMU they start is killed at the end."""
    suffix = uuid.uuid4().hex[:6]
    instances = {f"xhost-{x}-{suffix}": tmp_path / f"instances-{x}" for x in "ab"}
    computes = [
        ["--driver", "qemu", "--host", host, "--instances-path", str(path)]
        for host, path in instances.items()
    ]
    data_dir = tmp_path / "data"
    try:
        with serve(postgres_url, data_dir, computes) as api:
            headers = admin_headers(api)
            agents_up(api, headers, set(instances))
            image = upload_image(api, headers, "nimbus-guest", guest_image.read_bytes())
            yield Cloud(api, headers, data_dir, instances, image)
    finally:
        for path in instances.values():
            kill_all(path)


def test_resize_and_cold_migration_move_the_disk_to_another_host(cloud: Cloud) -> None:
    token = uuid.uuid4().hex
    marker = f"marker {token}"
    user_data = MARKER_USER_DATA.format(token=token).encode()
    booted = httpx.post(
        f"{cloud.api.url('compute')}/v2.1/servers",
        headers=cloud.headers,
        json={
            "server": {
                "name": "traveller",
                "imageRef": cloud.image,
                "flavorRef": "1",
                "networks": "none",
                "user_data": base64.b64encode(user_data).decode(),
            }
        },
    )
    assert booted.status_code == 202, booted.text
    vm = booted.json()["server"]["id"]
    cloud.wait_status(vm, "ACTIVE")
    source = cloud.host_of(vm)
    (other,) = set(cloud.instances) - {source}
    first = cloud.wait_console(vm, READY_LINE)
    assert "running user_data" in first and marker not in first
    assert cloud.qemu_memory(source, vm) == 512

    # A resize to m1.small lands on the other host (the scheduler spreads; the source
    # still holds the old flavor) and boots the disk the first boot wrote.
    cloud.action(vm, {"resize": {"flavorRef": "2"}})
    shown = cloud.wait_status(vm, "VERIFY_RESIZE")
    assert shown["OS-EXT-SRV-ATTR:host"] == other
    moved = cloud.wait_console(vm, marker)
    assert "user_data already ran for this instance" in moved
    assert cloud.qemu_memory(other, vm) == 2048
    assert f"{vm}_resize" in cloud.guest_dirs(source)  # kept for a revert
    assert not cloud.migration_images()  # the image of the disk is gone

    # Revert: the other host drops its guest, the source boots its kept disk again.
    cloud.action(vm, {"revertResize": None})
    cloud.wait_status(vm, "ACTIVE")
    assert cloud.host_of(vm) == source
    cloud.wait_console(vm, marker)  # the source's console log goes on: its 2nd boot
    assert cloud.console(vm).count(BOOT_LINE) == 2
    assert cloud.qemu_memory(source, vm) == 512
    assert cloud.guest_dirs(other) == set() and cloud.guest_dirs(source) == {vm}

    # A cold migration (to the host an admin names) with the same flavor, confirmed:
    # nothing of the guest is left on the source.
    cloud.action(vm, {"migrate": {"host": other}})
    cloud.wait_status(vm, "VERIFY_RESIZE")
    assert cloud.host_of(vm) == other
    cloud.wait_console(vm, marker)
    assert cloud.qemu_memory(other, vm) == 512
    cloud.action(vm, {"confirmResize": None}, 204)
    cloud.wait_status(vm, "ACTIVE")
    assert cloud.guest_dirs(source) == set()
    assert not qemu_pids(cloud.instances[source])
    assert not cloud.migration_images()

    gone = httpx.delete(f"{cloud.api.url('compute')}/v2.1/servers/{vm}", headers=cloud.headers)
    assert gone.status_code == 204
    wait(lambda: not cloud.guest_dirs(other), "the guest's directory to go")
