"""The issue's acceptance, as a new user would try it: `nimbus up --driver qemu`, then
the real `openstack` CLI boots the registered guest image and drives it through every
action, each checked against what the guest prints on its console and what runs on
the host. One server carries the story; a second one boots its snapshot. Every QEMU of
the cloud is killed at the end, whatever happened.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.guest import BOOT_LINE, IMAGE_NAME
from tests.cli import as_json, openstack
from tests.processes import Running, free_offset, rc_environment, start
from tests.system.qemu_support import (
    BOOT_TIMEOUT,
    TICKER_USER_DATA,
    cmdline,
    kill_all,
    needs_qemu,
    qemu_pids,
    ticks,
)

pytestmark = [pytest.mark.system, needs_qemu]

#: Seconds a guest stays paused or suspended: longer than any gap between its ticks.
PAUSE = 5.0


class Cloud:
    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env = env
        self.instances = data_dir / "instances"

    def show(self, server: str) -> dict[str, Any]:
        return as_json(self.env, "server", "show", server)

    def console(self, server: str, *args: str) -> str:
        return openstack(self.env, "console", "log", "show", *args, server).stdout

    def wait_status(
        self, server: str, status: str, timeout: float = BOOT_TIMEOUT, *, ok_error: bool = False
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.show(server)
            if shown["status"] == status and not shown.get("OS-EXT-STS:task_state"):
                return
            assert ok_error or shown["status"] != "ERROR", shown.get("fault")
            assert time.monotonic() < deadline, f"{server} stuck in {shown['status']}"
            time.sleep(0.5)

    def wait_console(self, server: str, what: str, test: Any, timeout: float = BOOT_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while not test(console := self.console(server)):
            assert time.monotonic() < deadline, f"{server}: no {what} on the console:\n{console}"
            time.sleep(1)
        return console

    def wait_boots(self, server: str, count: int) -> str:
        return self.wait_console(
            server, f"boot number {count}", lambda c: c.count(BOOT_LINE) >= count
        )


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, guest_image: Path) -> Iterator[Cloud]:
    """A QEMU cloud whose guest image is registered (it is built already: `guest_image`)."""
    data_dir = tmp_path_factory.mktemp("real-guest-cloud")
    running: Running = start(
        # Guests use QEMU's user-mode network until servers get Neutron ports, so this
        # cloud needs no data plane on the host.
        ["up", "--data-dir", str(data_dir), "--driver", "qemu", "--no-dataplane"],
        offset=free_offset(),
    )
    try:
        made = Cloud(rc_environment(data_dir / "adminrc"), data_dir)
        deadline = time.monotonic() + 300
        while not any(
            image["Name"] == IMAGE_NAME and image["Status"] == "active"
            for image in as_json(made.env, "image", "list")
        ):
            assert time.monotonic() < deadline, "the guest image was not registered"
            time.sleep(1)
        yield made
    finally:
        try:
            assert running.stop() == 0
        finally:
            kill_all(data_dir / "instances")


@pytest.fixture(scope="module")
def vm1(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> str:
    script = tmp_path_factory.mktemp("user-data") / "script.sh"
    script.write_text(TICKER_USER_DATA)
    created = as_json(
        cloud.env,
        *("server", "create", "--flavor", "m1.tiny", "--image", IMAGE_NAME),
        *("--user-data", str(script), "--wait", "vm1"),
    )
    assert created["status"] == "ACTIVE"
    return created["id"]


def test_boot_reaches_active_with_a_qemu_behind_it(cloud: Cloud, vm1: str) -> None:
    pids = qemu_pids(cloud.instances)
    assert list(pids) == [vm1]
    argv = cmdline(pids[vm1])
    assert argv[argv.index("-uuid") + 1] == vm1
    console = cloud.wait_console("vm1", "user_data output", lambda c: "user-data-ran" in c)
    assert BOOT_LINE in console
    tail = cloud.console("vm1", "--lines", "3")
    # Nova's tail is the last 3 pieces between newlines: 3 lines, or 2 when the log
    # ends in a newline (the last piece is then empty); the CLI ends it with one.
    assert len(tail.rstrip("\n").split("\n")) in (2, 3)
    assert tail.strip() in cloud.console("vm1")


def _log(cloud: Cloud, server: str) -> Path:
    """The console log file on the host, read directly: the API reads it through the
    agent, which a paused or suspended guest's tests need not wait for."""
    return cloud.instances / server / "console.log"


def test_pause_freezes_the_guest_and_unpause_lets_it_go_on(cloud: Cloud, vm1: str) -> None:
    cloud.wait_console("vm1", "uptime ticks", lambda c: len(ticks(c)) >= 2)
    openstack(cloud.env, "server", "pause", "vm1")
    cloud.wait_status("vm1", "PAUSED")
    frozen = _log(cloud, vm1).read_text()
    time.sleep(PAUSE)
    assert _log(cloud, vm1).read_text() == frozen
    openstack(cloud.env, "server", "unpause", "vm1")
    cloud.wait_status("vm1", "ACTIVE")
    console = cloud.wait_console(
        "vm1", "a tick after unpause", lambda c: len(ticks(c)) > len(ticks(frozen)), 60
    )
    assert _largest_gap(ticks(console)) < PAUSE  # the guest did not see the pause go by


def test_suspend_and_resume_continue_the_same_boot(cloud: Cloud, vm1: str) -> None:
    before = cloud.console("vm1")
    openstack(cloud.env, "server", "suspend", "vm1")
    cloud.wait_status("vm1", "SUSPENDED")
    assert vm1 not in qemu_pids(cloud.instances)
    assert (cloud.instances / vm1 / "suspended.state").is_file()
    time.sleep(PAUSE)
    openstack(cloud.env, "server", "resume", "vm1")
    cloud.wait_status("vm1", "ACTIVE")
    assert vm1 in qemu_pids(cloud.instances)
    assert not (cloud.instances / vm1 / "suspended.state").exists()
    console = cloud.wait_console(
        "vm1", "ticks after resume", lambda c: len(ticks(c)) > len(ticks(before)) + 1, 60
    )
    assert _largest_gap(ticks(console)) < PAUSE  # its uptime went on from where it was
    assert console.count(BOOT_LINE) == before.count(BOOT_LINE)  # no new boot


def _largest_gap(uptimes: list[float]) -> float:
    assert uptimes == sorted(uptimes), "the guest's uptime went backwards"
    return max(b - a for a, b in itertools.pairwise(uptimes))


def test_stop_and_start(cloud: Cloud, vm1: str) -> None:
    boots = cloud.console("vm1").count(BOOT_LINE)
    openstack(cloud.env, "server", "stop", "vm1")
    cloud.wait_status("vm1", "SHUTOFF")
    assert vm1 not in qemu_pids(cloud.instances)
    openstack(cloud.env, "server", "start", "vm1")
    cloud.wait_status("vm1", "ACTIVE")
    assert vm1 in qemu_pids(cloud.instances)
    cloud.wait_boots("vm1", boots + 1)


@pytest.mark.parametrize("kind", ["--soft", "--hard"])
def test_reboot(cloud: Cloud, vm1: str, kind: str) -> None:
    boots = cloud.console("vm1").count(BOOT_LINE)
    pid = qemu_pids(cloud.instances)[vm1]
    openstack(cloud.env, "server", "reboot", kind, "--wait", "vm1")
    cloud.wait_status("vm1", "ACTIVE")
    console = cloud.wait_boots("vm1", boots + 1)
    assert qemu_pids(cloud.instances)[vm1] != pid
    assert console.count("user-data-ran") == 1  # once per instance, not per boot


def test_snapshot_boots_with_the_first_guests_file(cloud: Cloud, vm1: str, tmp_path: Path) -> None:
    openstack(cloud.env, "server", "image", "create", "--wait", "vm1", "--name", "snap")
    image = as_json(cloud.env, "image", "show", "snap")
    assert (image["status"], image["disk_format"]) == ("active", "qcow2")
    script = tmp_path / "cat.sh"
    script.write_text('#!/bin/sh\necho "snap-says: $(cat /root/first-boot)"\n')
    as_json(
        cloud.env,
        *("server", "create", "--flavor", "m1.tiny", "--image", "snap"),
        *("--user-data", str(script), "--wait", "vm2"),
    )
    cloud.wait_console(
        "vm2", "the first guest's file", lambda c: "snap-says: written by the first boot" in c
    )
    assert cloud.show("vm1")["status"] == "ACTIVE"


def test_resize_gives_the_new_flavor_and_confirm_keeps_it(cloud: Cloud, vm1: str) -> None:
    boots = cloud.console("vm1").count(BOOT_LINE)
    openstack(cloud.env, "server", "resize", "--flavor", "m1.small", "--wait", "vm1")
    cloud.wait_status("vm1", "VERIFY_RESIZE")
    argv = cmdline(qemu_pids(cloud.instances)[vm1])
    assert argv[argv.index("-m") + 1] == "2048"
    assert (cloud.instances / f"{vm1}_resize").is_dir()  # kept for a revert
    openstack(cloud.env, "server", "resize", "confirm", "vm1")
    cloud.wait_status("vm1", "ACTIVE")
    assert not (cloud.instances / f"{vm1}_resize").exists()
    console = cloud.wait_boots("vm1", boots + 1)
    last_boot = console.rsplit(BOOT_LINE, 2)[-2]
    grown = re.findall(r"grew /dev/vda2 to (\d+) MiB", last_boot)
    assert grown and int(grown[-1]) > 10_000  # m1.small's 20 GB disk, not m1.tiny's 1 GB


def test_rebuild_boots_a_fresh_disk_that_runs_user_data_again(cloud: Cloud, vm1: str) -> None:
    """Rebuild destroys the guest (its console log too, as Nova's libvirt driver does)
    and boots a new root disk from the image, on which user_data has not run yet."""
    openstack(cloud.env, "server", "rebuild", "--image", IMAGE_NAME, "--wait", "vm1")
    cloud.wait_status("vm1", "ACTIVE")
    console = cloud.wait_console("vm1", "user_data on the new disk", lambda c: "user-data-ran" in c)
    assert console.count(BOOT_LINE) == 1


def test_a_qemu_that_dies_shows_the_server_shutoff(cloud: Cloud) -> None:
    """Nobody tells the agent that QEMU died: its guest check notices (within 5 s)."""
    vm2 = cloud.show("vm2")["id"]
    os.kill(qemu_pids(cloud.instances)[vm2], signal.SIGKILL)
    cloud.wait_status("vm2", "SHUTOFF", timeout=30)
    assert vm2 not in qemu_pids(cloud.instances)


def test_an_image_that_is_not_a_disk_fails_the_build_with_a_clear_fault(
    cloud: Cloud, tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("these are notes, not a disk\n" * 100)
    openstack(cloud.env, "image", "create", "--disk-format", "raw", "--file", str(junk), "notes")
    openstack(cloud.env, "server", "create", "--flavor", "m1.tiny", "--image", "notes", "bad")
    cloud.wait_status("bad", "ERROR", ok_error=True)
    fault = cloud.show("bad")["fault"]
    assert "aborted" in fault["message"] and "not a bootable disk" in fault["message"]
    bad = cloud.show("bad")["id"]
    assert bad not in qemu_pids(cloud.instances)
    assert not (cloud.instances / bad).exists()
    openstack(cloud.env, "server", "delete", "--wait", "bad")


def test_delete_leaves_no_process_and_no_files(cloud: Cloud, vm1: str) -> None:
    openstack(cloud.env, "server", "delete", "--wait", "vm1", "vm2")
    assert qemu_pids(cloud.instances) == {}
    assert [p.name for p in cloud.instances.iterdir() if not p.name.startswith("_")] == []
    assert as_json(cloud.env, "server", "list") == []
