"""What the compute agent hands a driver that boots from image data (as the QEMU driver
does), and its reaping of guests no instance owns; with recording fake drivers."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from nimbus.db.models.image import Image
from nimbus.services.compute import ComputeAgent
from nimbus.virt.driver import Guest
from nimbus.virt.fake import FakeDriver
from tests.api.compute_helpers import admin_client
from tests.api.conftest import Cloud
from tests.api.server_helpers import LATEST, active_image, boot_ok, wait_gone, wait_status


class RecordingDriver(FakeDriver):
    """A fake driver that asks for image data and remembers what spawn got."""

    needs_image_data = True

    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[Guest] = []

    async def spawn(self, guest: Guest) -> None:
        self.spawned.append(guest)
        await super().spawn(guest)


@dataclass
class Recorded:
    agents: list[ComputeAgent]
    drivers: list[RecordingDriver]


@pytest.fixture(scope="module")
async def recorded(compute_cloud: Cloud) -> Recorded:
    agents = [d for d in compute_cloud.process.daemons if isinstance(d, ComputeAgent)]
    drivers = []
    for agent in agents:
        driver = RecordingDriver()
        await driver.init_host(agent.host)
        agent.driver = driver
        drivers.append(driver)
    return Recorded(agents, drivers)


async def test_the_agent_resolves_image_data_and_metadata(
    compute_cloud: Cloud, recorded: Recorded
) -> None:
    image_id = await active_image(compute_cloud, "seam-image")
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    async with await admin_client(compute_cloud, LATEST) as client:
        server = await boot_ok(
            client,
            image_id,
            "seam",
            metadata={"role": "web"},
            user_data=user_data,
            config_drive=True,
        )
        await wait_status(client, server["id"], "ACTIVE")
        await client.delete(f"/v2.1/servers/{server['id']}")
        await wait_gone(client, server["id"])
    guest = next(g for d in recorded.drivers for g in d.spawned if g.uuid == server["id"])
    async with compute_cloud.process.db.reader() as session:
        image = (await session.scalars(select(Image).where(Image.id == image_id))).one()
    assert guest.image_path is not None and guest.image_path.name == image_id
    assert guest.image_path.read_bytes()[:4] == b"QFI\xfb"  # the stored data itself
    assert (guest.image_format, guest.image_hash) == ("qcow2", image.os_hash_value)
    assert guest.metadata == {"role": "web"}
    assert guest.user_data == user_data and guest.config_drive
    assert guest.hostname == "seam" and guest.nics == ()  # the helper boots networks: none
    assert guest.direct_boot is None  # an image naming no kernel boots its own disk


async def test_guests_without_an_instance_on_the_host_are_reaped(
    compute_cloud: Cloud, recorded: Recorded
) -> None:
    image_id = await active_image(compute_cloud, "reap-image")
    async with await admin_client(compute_cloud, LATEST) as client:
        kept = await boot_ok(client, image_id, "kept")
        await wait_status(client, kept["id"], "ACTIVE")
        driver = recorded.drivers[0]
        orphan = Guest(uuid="0b5c7e0e-3c55-4f2a-9d0e-5c1a2b3c4d5e", name="orphan", vcpus=1,
                       memory_mb=64, root_gb=1)  # fmt: skip
        await driver.spawn(orphan)
        for each in recorded.agents:
            await each._reap_deleted_guests()
        assert orphan.uuid not in await driver.list_instances()
        guests = [g for d in recorded.drivers for g in await d.list_instances()]
        assert kept["id"] in guests
        await client.delete(f"/v2.1/servers/{kept['id']}")
        await wait_gone(client, kept["id"])


async def test_an_image_naming_a_kernel_gets_it_booted_directly(
    compute_cloud: Cloud, recorded: Recorded
) -> None:
    kernel = await active_image(compute_cloud, "seam-kernel")
    ramdisk = await active_image(compute_cloud, "seam-ramdisk")
    image_id = await active_image(
        compute_cloud,
        "seam-direct",
        kernel_id=kernel,
        ramdisk_id=ramdisk,
        os_command_line="console=ttyS0 root=LABEL=root",
    )
    async with await admin_client(compute_cloud, LATEST) as client:
        server = await boot_ok(client, image_id, "direct")
        shown = await wait_status(client, server["id"], "ACTIVE")
        assert shown["OS-EXT-SRV-ATTR:kernel_id"] == kernel
        assert shown["OS-EXT-SRV-ATTR:ramdisk_id"] == ramdisk
        await client.delete(f"/v2.1/servers/{server['id']}")
        await wait_gone(client, server["id"])
    guest = next(g for d in recorded.drivers for g in d.spawned if g.uuid == server["id"])
    boot = guest.direct_boot
    assert boot is not None and boot.cmdline == "console=ttyS0 root=LABEL=root"
    assert boot.ramdisk is not None
    assert (boot.kernel.id, boot.ramdisk.id) == (kernel, ramdisk)
    assert boot.kernel.path.name == kernel and boot.kernel.sha512  # the stored data
