"""The config drive: an ISO 9660 volume labelled `config-2` carrying the instance's
metadata, user_data and network description in the OpenStack metadata layout, for
guests to read without a metadata service (cloud-init's ConfigDrive source).

Written under `openstack/latest/` and under the newest dated version upstream serves,
as Nova's config drive does, so that readers asking for either find them.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nimbus.virt.qemu.commands import run

LABEL = "config-2"
#: The newest dated OpenStack metadata version (Nova's base.OPENSTACK_VERSIONS[-1]).
DATED_VERSION = "2018-08-27"


@dataclass(frozen=True)
class Metadata:
    """What the drive tells the guest about itself."""

    uuid: str
    name: str
    hostname: str
    launch_index: int = 0
    availability_zone: str | None = None
    project_id: str | None = None
    key_name: str | None = None
    key_data: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    user_data: bytes | None = None
    #: MAC addresses of the guest's NICs (each configured by DHCP).
    macs: tuple[str, ...] = ()

    def meta_data(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "uuid": self.uuid,
            "name": self.name,
            "hostname": self.hostname,
            "launch_index": self.launch_index,
            "availability_zone": self.availability_zone,
            "project_id": self.project_id,
            "meta": self.meta,
            "devices": [],
        }
        if self.key_data:
            name = self.key_name or "key"
            document["public_keys"] = {name: self.key_data}
            document["keys"] = [{"name": name, "type": "ssh", "data": self.key_data}]
        return document

    def network_data(self) -> dict[str, Any]:
        links = [
            {"id": f"tap{i}", "type": "phy", "ethernet_mac_address": mac, "mtu": 1500}
            for i, mac in enumerate(self.macs)
        ]
        networks = [
            {"id": f"network{i}", "type": "ipv4_dhcp", "link": f"tap{i}", "network_id": ""}
            for i in range(len(self.macs))
        ]
        return {"links": links, "networks": networks, "services": []}


def _write_tree(root: Path, metadata: Metadata) -> None:
    for version in ("latest", DATED_VERSION):
        directory = root / "openstack" / version
        directory.mkdir(parents=True)
        (directory / "meta_data.json").write_text(json.dumps(metadata.meta_data()))
        (directory / "network_data.json").write_text(json.dumps(metadata.network_data()))
        (directory / "vendor_data.json").write_text("{}")
        if metadata.user_data is not None:
            (directory / "user_data").write_bytes(metadata.user_data)


async def build(target: Path, metadata: Metadata) -> None:
    """Write the config drive image for `metadata` to `target`."""
    with tempfile.TemporaryDirectory(prefix="nimbus-configdrive-") as directory:
        tree = Path(directory) / "tree"
        await asyncio.to_thread(_write_tree, tree, metadata)
        await run(
            "genisoimage", "-quiet", "-o", str(target), "-V", LABEL, "-r", "-J",
            "-input-charset", "utf-8", str(tree),
        )  # fmt: skip
