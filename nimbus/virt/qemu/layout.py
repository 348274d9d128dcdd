"""Where a QEMU guest's files live on the host.

Everything about one instance is in one directory, `<instances>/<uuid>/`, so that
deleting the directory deletes the instance and listing directories lists guests.
Base images are shared by every instance booted from them, once per image id, under
`<instances>/_base/`. A resize keeps the pre-resize directory as `<uuid>_resize`
until it is confirmed or reverted (as Nova's libvirt driver does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = "_base"
RESIZE_SUFFIX = "_resize"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class InstanceDir:
    """The files of one guest."""

    path: Path

    @property
    def uuid(self) -> str:
        return self.path.name.removesuffix(RESIZE_SUFFIX)

    @property
    def disk(self) -> Path:
        """The root disk: a qcow2 overlay on the base image."""
        return self.path / "disk"

    @property
    def rescue_disk(self) -> Path:
        """While rescued: an overlay on the rescue image, booted before `disk`."""
        return self.path / "disk.rescue"

    @property
    def ephemeral(self) -> Path:
        return self.path / "disk.eph0"

    @property
    def swap(self) -> Path:
        return self.path / "disk.swap"

    @property
    def config_drive(self) -> Path:
        return self.path / "disk.config"

    @property
    def console_log(self) -> Path:
        return self.path / "console.log"

    @property
    def qemu_log(self) -> Path:
        """What QEMU itself says (start-up errors, warnings)."""
        return self.path / "qemu.log"

    @property
    def qmp(self) -> Path:
        return self.path / "qmp.sock"

    @property
    def serial(self) -> Path:
        return self.path / "serial.sock"

    @property
    def pidfile(self) -> Path:
        return self.path / "qemu.pid"

    @property
    def spec(self) -> Path:
        """How to start the guest again (power on, hard reboot, after a restart)."""
        return self.path / "guest.json"

    @property
    def saved_state(self) -> Path:
        """A suspended guest's memory and devices (QEMU's migration stream)."""
        return self.path / "suspended.state"


@dataclass(frozen=True)
class Layout:
    """The instances directory of one compute host."""

    root: Path

    def instance(self, uuid: str) -> InstanceDir:
        if not _UUID.fullmatch(uuid):
            raise ValueError(f"not an instance uuid: {uuid!r}")
        return InstanceDir(self.root / uuid)

    def resize_kept(self, uuid: str) -> InstanceDir:
        """The pre-resize directory kept for a revert."""
        return InstanceDir(self.root / f"{self.instance(uuid).path.name}{RESIZE_SUFFIX}")

    def base(self, image_id: str) -> Path:
        return self.root / BASE_DIR / image_id

    def instances(self) -> list[InstanceDir]:
        """Every guest's directory (not bases, not kept resize sources)."""
        if not self.root.is_dir():
            return []
        return [InstanceDir(p) for p in sorted(self.root.iterdir()) if _UUID.fullmatch(p.name)]
