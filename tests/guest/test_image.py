"""The guest image under plain QEMU (TCG), without Nimbus: what the QEMU driver and the
users rely on. One guest booted with a config drive serves most assertions (boot line,
DHCP, user_data, SSH, HTTP, growing root, reboot, power button); its disk is then
booted as a new instance (a snapshot); two more boots cover the metadata service and
direct kernel boot without a NIC."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nimbus.guest import BOOT_LINE, KERNEL_CMDLINE, READY_LINE, boot_files
from tests.guest.machine import Machine, config_drive

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client (openssh-client)"),
    pytest.mark.skipif(shutil.which("genisoimage") is None, reason="genisoimage is not installed"),
]


def _first_user_data(instance: str) -> str:
    """Says hello on the console and leaves a file naming its instance on the disk."""
    return f"""#!/bin/sh
echo "user-data says hello from $(hostname)"
echo "{instance}" > /root/first-instance
"""


SNAPSHOT_USER_DATA = """#!/bin/sh
echo "second user-data sees $(cat /root/first-instance)"
"""


def _overlay(work: Path, base: Path, name: str = "disk.qcow2") -> Path:
    """A 1 GiB qcow2 overlay on `base` (the disk is larger than the image, as a flavor's)."""
    disk = work / name
    subprocess.run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            str(base),
            "-F",
            "qcow2",
            str(disk),
            "1G",
        ],
        check=True,
    )
    return disk


def _meta_data(instance: str, name: str, key: Path) -> dict[str, object]:
    return {
        "uuid": instance,
        "name": name,
        "hostname": f"{name}.novalocal",
        "public_keys": {"test-key": key.with_suffix(".pub").read_text()},
        "launch_index": 0,
    }


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("guest-image")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def key(work: Path) -> Path:
    path = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def guest(work: Path, guest_image: Path, key: Path) -> Iterator[Machine]:
    """The guest most tests share, booted from a config drive with a key and user_data."""
    instance = str(uuid.uuid4())
    (work / "first").mkdir()
    drive = config_drive(
        work / "first" / "config.iso",
        _meta_data(instance, "vm-one", key),
        _first_user_data(instance),
    )
    machine = Machine(
        work / "first", _overlay(work / "first", guest_image), instance=instance, cdrom=drive
    )
    try:
        yield machine
    finally:
        machine.kill()


def test_boot_line_names_the_instance(guest: Machine) -> None:
    seconds = guest.wait_for(f"{BOOT_LINE} {guest.instance}")
    print(f"boot line after {seconds:.1f} s")


def test_first_nic_gets_its_address_by_dhcp(guest: Machine) -> None:
    guest.wait_for("nimbus-guest: eth0 ip=10.0.2.15/24 gw=10.0.2.2")


def test_user_data_runs_with_its_output_on_the_console(guest: Machine) -> None:
    seconds = guest.wait_for(READY_LINE)
    console = guest.console()
    assert f"instance-id={guest.instance} hostname=vm-one.novalocal" in console
    assert console.count("user-data says hello from vm-one") == 1
    print(f"ready after {seconds:.1f} s")


def test_ssh_with_the_metadata_key_runs_commands_as_root(guest: Machine, key: Path) -> None:
    guest.wait_for(READY_LINE)
    done = guest.ssh(key, "id -u; hostname; cat /root/first-instance")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "vm-one", guest.instance]


def test_ssh_refuses_another_key(guest: Machine, work: Path) -> None:
    other = work / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    guest.wait_for(READY_LINE)
    done = guest.ssh(other, "true")
    assert done.returncode == 255
    assert "Permission denied" in done.stderr


def test_http_page_names_the_host_and_instance(guest: Machine) -> None:
    guest.wait_for(READY_LINE)
    with urllib.request.urlopen(f"http://127.0.0.1:{guest.http_port}/", timeout=30) as answer:
        page = answer.read().decode()
    assert "vm-one" in page
    assert guest.instance in page


def test_root_filesystem_grows_to_the_disk(guest: Machine, key: Path) -> None:
    guest.wait_for(READY_LINE)
    done = guest.ssh(key, "df -k / | tail -1")
    assert done.returncode == 0, done.stderr
    size_kib = int(done.stdout.split()[1])
    assert size_kib > 900 * 1024  # the image's root is 95 MiB, the overlay 1 GiB


def test_reboot_does_not_run_user_data_again(guest: Machine, key: Path) -> None:
    guest.wait_for(READY_LINE)
    guest.ssh(key, "reboot")
    guest.wait_for(READY_LINE, count=2)
    console = guest.console()
    assert console.count(f"{BOOT_LINE} {guest.instance}") == 2
    assert "user_data already ran for this instance" in console
    assert console.count("user-data says hello") == 1


def test_power_button_powers_the_guest_off(guest: Machine) -> None:
    guest.wait_for(READY_LINE, count=2)  # after the reboot test, as a user would
    pressed = guest.qmp("system_powerdown")
    assert pressed == {"return": {}}
    assert guest.process.wait(60) == 0
    assert "nimbus-guest: shutting down" in guest.console()


def test_snapshot_boots_as_a_new_instance_running_its_own_user_data(
    guest: Machine, work: Path, key: Path
) -> None:
    guest.kill()  # off already unless the power button test failed
    snapshot = work / "snapshot.qcow2"
    subprocess.run(
        ["qemu-img", "convert", "-O", "qcow2", str(guest.workdir / "disk.qcow2"), str(snapshot)],
        check=True,
    )
    (work / "second").mkdir()
    instance = str(uuid.uuid4())
    drive = config_drive(
        work / "second" / "config.iso", _meta_data(instance, "vm-two", key), SNAPSHOT_USER_DATA
    )
    second = Machine(work / "second", snapshot, instance=instance, cdrom=drive)
    try:
        second.wait_for(READY_LINE)
        assert f"second user-data sees {guest.instance}" in second.console()
        done = second.ssh(key, "hostname")
        assert done.stdout.strip() == "vm-two"
    finally:
        second.kill()


def test_metadata_service_serves_a_guest_without_config_drive(
    work: Path, guest_image: Path, key: Path
) -> None:
    """The guest's network is 169.254.169.0/24 so that QEMU can forward 169.254.169.254:80
    to a host command serving the OpenStack metadata layout."""
    instance = str(uuid.uuid4())
    machine_dir = work / "metadata-service"
    latest = machine_dir / "metadata" / "openstack" / "latest"
    latest.mkdir(parents=True)
    (latest / "meta_data.json").write_text(json.dumps(_meta_data(instance, "vm-md", key)))
    (latest / "user_data").write_text("#!/bin/sh\necho user-data came over http\n")
    server = Path(__file__).with_name("metadata_server.py")
    network = (
        f",net=169.254.169.0/24,guestfwd=tcp:169.254.169.254:80-cmd:"
        f"{sys.executable} {server} {machine_dir / 'metadata'}"
    )
    machine = Machine(machine_dir, _overlay(machine_dir, guest_image), nic=network)
    try:
        machine.wait_for(READY_LINE)
        console = machine.console()
        assert "nimbus-guest: eth0 ip=169.254.169.15/24 gw=169.254.169.2" in console
        assert f"metadata from metadata service: instance-id={instance}" in console
        assert "user-data came over http" in console
        done = machine.ssh(key, "hostname")
        assert done.stdout.strip() == "vm-md"
    finally:
        machine.kill()


def test_direct_kernel_boot_without_a_nic_goes_on(work: Path, guest_image: Path) -> None:
    """The kernel and initramfs kept beside the image boot its disk too; with no NIC and
    no metadata the guest still comes up, promptly."""
    kernel, initrd = boot_files(guest_image)
    machine_dir = work / "direct"
    machine_dir.mkdir()
    machine = Machine(
        machine_dir,
        _overlay(machine_dir, guest_image),
        nic=None,
        extra=["-kernel", str(kernel), "-initrd", str(initrd), "-append", KERNEL_CMDLINE],
    )
    try:
        booted = machine.wait_for(f"{BOOT_LINE} {machine.instance}")
        ready = machine.wait_for(READY_LINE)
        console = machine.console()
        assert "nimbus-guest: no network interface" in console
        assert "nimbus-guest: no metadata" in console
        assert ready - booted < 20
    finally:
        machine.kill()
