"""`--driver`: QEMU by default where qemu-system-x86_64 is installed, else fake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nimbus import cli


@pytest.mark.parametrize("installed", [True, False])
def test_the_default_driver_follows_what_is_installed(
    monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    found = "/usr/bin/qemu-system-x86_64" if installed else None
    monkeypatch.setattr(shutil, "which", lambda name: found if "qemu" in name else None)
    for command in (["up"], ["serve", "compute"]):
        args = cli.build_parser().parse_args(command)
        assert args.driver == ("qemu" if installed else "fake")
    assert cli.build_parser().parse_args(["up", "--driver", "fake"]).driver == "fake"


def test_the_qemu_driver_keeps_its_guests_in_the_data_dir(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(["up", "--data-dir", str(tmp_path), "--driver", "qemu"])
    settings = cli._settings(args)
    assert settings.compute.driver == "qemu"
    assert settings.compute.instances_path == tmp_path.resolve() / "instances"
