"""The QEMU command line of a guest, from its launch spec and the files present."""

from __future__ import annotations

import json
from pathlib import Path

from nimbus.virt.qemu.layout import Layout
from nimbus.virt.qemu.process import LaunchSpec, command

UUID = "6647cb94-641a-458e-8d91-d62816de7a28"


def _options(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_the_command_line_carries_the_instance_and_its_files(tmp_path: Path) -> None:
    directory = Layout(tmp_path / "dir, with a comma").instance(UUID)
    directory.path.mkdir(parents=True)
    directory.config_drive.touch()
    spec = LaunchSpec(
        UUID,
        "web,1",
        vcpus=2,
        memory_mb=256,
        macs=("fa:16:3e:de:7a:28", "fa:16:3e:00:00:01"),
        taps=("", "nab12t0123456789"),
    )
    spec.save(directory)
    assert LaunchSpec.load(directory) == spec
    argv = command(directory, spec, ["-accel", "tcg,tb-size=32"])
    assert _options(argv, "-uuid") == [UUID]
    assert _options(argv, "-smp") == ["2"] and _options(argv, "-m") == ["256"]
    assert _options(argv, "-name") == ["guest=web,,1,debug-threads=on"]
    assert "-nodefaults" in argv and "-daemonize" in argv and "-incoming" not in argv
    drives = _options(argv, "-drive")
    assert [d.split(",if=")[0] for d in drives] == [
        f"file={str(directory.disk).replace(',', ',,')}",
        f"file={str(directory.config_drive).replace(',', ',,')}",
    ]
    assert drives[1].endswith(",readonly=on")  # the config drive; no ephemeral or swap here
    # No tap: QEMU's user-mode network; a tap: the data plane's, opened without scripts.
    assert _options(argv, "-netdev") == [
        "user,id=netfa163ede7a28",
        "tap,id=netfa163e000001,ifname=nab12t0123456789,script=no,downscript=no,vhost=off",
    ]
    assert _options(argv, "-device")[-2:] == [
        "virtio-net-pci,id=nicfa163ede7a28,netdev=netfa163ede7a28,mac=fa:16:3e:de:7a:28",
        "virtio-net-pci,id=nicfa163e000001,netdev=netfa163e000001,mac=fa:16:3e:00:00:01",
    ]
    assert _options(argv, "-qmp") == ["unix:qmp.sock,server=on,wait=off"]  # relative


def test_a_spec_saved_before_taps_existed_loads_with_user_mode_nics(tmp_path: Path) -> None:
    directory = Layout(tmp_path).instance(UUID)
    directory.path.mkdir(parents=True)
    old = {"uuid": UUID, "name": "old", "vcpus": 1, "memory_mb": 128, "macs": ["fa:16:3e:00:00:02"]}
    directory.spec.write_text(json.dumps(old))
    assert LaunchSpec.load(directory).nics == [("fa:16:3e:00:00:02", "")]


def test_no_nic_for_networks_none_and_resume_reads_the_saved_state(tmp_path: Path) -> None:
    directory = Layout(tmp_path / "it's here").instance(UUID)
    argv = command(directory, LaunchSpec(UUID, "n", 1, 128), [], incoming=True)
    assert "-netdev" not in argv
    assert _options(argv, "-incoming") == [
        f"exec:cat '{tmp_path}/it'\"'\"'s here/{UUID}/suspended.state'"
    ]
