"""The QEMU command line of a guest, from its launch spec and the files present."""

from __future__ import annotations

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
    spec = LaunchSpec(UUID, "web,1", vcpus=2, memory_mb=256, macs=("fa:16:3e:de:7a:28",))
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
    assert _options(argv, "-netdev") == ["user,id=net0"]
    assert _options(argv, "-device")[-1] == "virtio-net-pci,netdev=net0,mac=fa:16:3e:de:7a:28"
    assert _options(argv, "-qmp") == ["unix:qmp.sock,server=on,wait=off"]  # relative


def test_no_nic_for_networks_none_and_resume_reads_the_saved_state(tmp_path: Path) -> None:
    directory = Layout(tmp_path / "it's here").instance(UUID)
    argv = command(directory, LaunchSpec(UUID, "n", 1, 128), [], incoming=True)
    assert "-netdev" not in argv
    assert _options(argv, "-incoming") == [
        f"exec:cat '{tmp_path}/it'\"'\"'s here/{UUID}/suspended.state'"
    ]
