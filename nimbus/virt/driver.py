"""The compute driver interface: what the compute agent asks of a hypervisor.

Kept narrow on purpose (Nova's ComputeDriver has ~100 methods): the agent owns the
instance's state machine and the conversation with the conductor; a driver only makes
a guest exist, run, stop, change size or go away on this host, and reports what it
sees. Every method is async; a driver that blocks (qemu-img, file copies) moves that
work off the event loop itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DriverError(Exception):
    """The hypervisor could not do what was asked; the message says why."""


class GuestNotFound(DriverError):
    """No guest with that uuid on this host."""


class ImageUnusable(DriverError):
    """The image cannot become this guest's disk on any host; the message says why."""


@dataclass(frozen=True)
class HostResources:
    """What this host offers (becomes the compute node row and its Placement inventory)."""

    vcpus: int
    memory_mb: int
    local_gb: int
    hypervisor_type: str
    hypervisor_version: int = 1
    cpu_info: str = "{}"


@dataclass(frozen=True)
class Nic:
    """One network interface of a guest: a Neutron port's MAC and the tap the host's
    data plane plugs into the port's bridge, or (no tap) hypervisor-local networking
    for a server with no port on a cloud without a data plane."""

    mac: str
    tap: str | None = None

    @classmethod
    def of(cls, uuid: str) -> Nic:
        """The NIC of an instance with a MAC derived from its uuid (Nova's fa:16:3e
        prefix), stable across restarts, rebuilds and resizes."""
        tail = bytes.fromhex(uuid.replace("-", "")[-6:])
        return cls("fa:16:3e:" + ":".join(f"{b:02x}" for b in tail))


@dataclass(frozen=True)
class ImageFile:
    """One image's data on this host: the image id, its file and sha512 os_hash_value."""

    id: str
    path: Path
    sha512: str | None = None


@dataclass(frozen=True)
class DirectBoot:
    """A kernel (and ramdisk) booted directly instead of the disk's own bootloader: the
    image properties `kernel_id`, `ramdisk_id` and `os_command_line`, which Nova's
    libvirt driver honours the same way."""

    kernel: ImageFile
    ramdisk: ImageFile | None = None
    cmdline: str | None = None


@dataclass(frozen=True)
class Guest:
    """What a driver needs to know to build or change one guest.

    Built by the agent from the instance record the conductor sent; never a database
    row, so a driver cannot reach the database through it.
    """

    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    image_ref: str | None = None
    #: Local path of the image's data, its disk_format and sha512 `os_hash_value`, for
    #: drivers that declare `needs_image_data` (the fake driver gets none of them).
    image_path: Path | None = None
    image_format: str | None = None
    image_hash: str | None = None
    #: Base64, as the API received it.
    user_data: str | None = None
    key_name: str | None = None
    key_data: str | None = None
    admin_password: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    hostname: str = ""
    launch_index: int = 0
    availability_zone: str | None = None
    project_id: str | None = None
    #: Set when the image names a kernel to boot (drivers that cannot, ignore it).
    direct_boot: DirectBoot | None = None
    #: The user asked for a config drive (drivers may also always make one).
    config_drive: bool = False
    #: No NIC when the server was created with `networks: none`.
    nics: tuple[Nic, ...] = ()

    @classmethod
    def of(cls, instance: dict[str, Any], **extra: Any) -> Guest:
        """The guest an instance record (as sent over the bus) describes."""
        flavor = (instance.get("flavor") or {}).get("current") or {}
        return cls(
            uuid=instance["uuid"],
            name=instance.get("display_name") or instance["uuid"],
            vcpus=flavor.get("vcpus", 0),
            memory_mb=flavor.get("memory_mb", 0),
            root_gb=flavor.get("root_gb", 0),
            ephemeral_gb=flavor.get("ephemeral_gb", 0),
            swap_mb=flavor.get("swap", 0),
            image_ref=instance.get("image_ref"),
            user_data=instance.get("user_data"),
            key_name=instance.get("key_name"),
            key_data=instance.get("key_data"),
            hostname=instance.get("hostname") or "",
            launch_index=instance.get("launch_index") or 0,
            availability_zone=instance.get("availability_zone"),
            project_id=instance.get("project_id"),
            config_drive=bool(instance.get("config_drive")),
            nics=()
            if (instance.get("system_metadata") or {}).get("networks") == "none"
            else (Nic.of(instance["uuid"]),),
            **extra,
        )


class Driver(ABC):
    """One hypervisor on one host. Power states are Nova's integers (compute.states)."""

    #: Short name shown as the hypervisor type.
    name: str = "driver"
    #: The agent resolves the image's local data into Guest.image_* only for drivers
    #: that boot from it (looking it up costs a database read per build).
    needs_image_data: bool = False
    #: Seconds between the agent's checks of its guests' power states, for a hypervisor
    #: that tells nobody when a guest dies (libvirt sends Nova a lifecycle event at once;
    #: bare QEMU does not). None: only the regular power sync (power_sync_interval).
    guest_check_interval: float | None = None

    async def init_host(self, host: str) -> None:  # noqa: B027 - optional hook
        """Prepare the hypervisor before the agent takes requests (default: nothing)."""

    async def manage_image_cache(self) -> None:  # noqa: B027 - optional hook
        """Drop cached image data no guest needs any more (default: nothing is cached).
        The agent calls it every `image_cache_interval` seconds."""

    @abstractmethod
    async def get_available_resources(self) -> HostResources:
        """What the host offers in total (not what is free: Placement tracks usage)."""

    @abstractmethod
    async def list_instances(self) -> list[str]:
        """The uuids of the guests that exist on this host."""

    @abstractmethod
    async def get_info(self, uuid: str) -> int:
        """The guest's power state; GuestNotFound if there is no such guest."""

    @abstractmethod
    async def spawn(self, guest: Guest) -> None:
        """Create the guest and start it."""

    @abstractmethod
    async def destroy(self, uuid: str) -> None:
        """Stop and remove the guest and its disks; no such guest is not an error."""

    @abstractmethod
    async def reboot(self, uuid: str, *, hard: bool) -> None:
        """Restart the guest (asking it first, for a soft reboot)."""

    @abstractmethod
    async def power_off(self, uuid: str) -> None: ...

    @abstractmethod
    async def power_on(self, uuid: str) -> None: ...

    @abstractmethod
    async def pause(self, uuid: str) -> None: ...

    @abstractmethod
    async def unpause(self, uuid: str) -> None: ...

    @abstractmethod
    async def suspend(self, uuid: str) -> None: ...

    @abstractmethod
    async def resume(self, uuid: str) -> None: ...

    @abstractmethod
    async def snapshot(self, uuid: str, target: Path, disk_format: str) -> None:
        """Write the guest's root disk, in `disk_format`, to the file `target`."""

    @abstractmethod
    async def migrate_disk_and_power_off(self, uuid: str, dest_host: str) -> None:
        """First half of a resize, on the source: stop the guest and keep its disks for
        a revert. A destination on this host takes them from there; one on another
        host gets the root disk as an image, which the agent uploads (`snapshot`) once
        the guest is powered off and before this is called."""

    @abstractmethod
    async def finish_migration(
        self, guest: Guest, *, power_on: bool, from_image: bool = False
    ) -> None:
        """Second half of a resize, on the destination: the guest with its new size.
        `from_image`: the source is another host and the root disk is the image
        `guest` describes (built on as a boot would, the ephemeral disk fresh);
        otherwise the disks are what `migrate_disk_and_power_off` kept on this host."""

    @abstractmethod
    async def confirm_migration(self, uuid: str) -> None:
        """A confirmed resize: drop what the source kept for a revert."""

    @abstractmethod
    async def finish_revert_migration(self, guest: Guest, *, power_on: bool) -> None:
        """A reverted resize, on the source: the guest as it was before."""

    @abstractmethod
    async def rescue(self, guest: Guest) -> None:
        """Stop the guest and boot it from a rescue disk made from the image `guest`
        describes (its image_* fields), its own root disk attached as the second disk."""

    @abstractmethod
    async def unrescue(self, uuid: str) -> None:
        """Stop the rescue guest, drop the rescue disk, boot the guest's own disk again."""

    @abstractmethod
    async def get_console_output(self, uuid: str) -> str:
        """The guest's serial console log so far."""

    @abstractmethod
    async def attach_interface(self, uuid: str, nic: Nic) -> None:
        """Plug a NIC into the guest (hot-plugged when it runs; kept for its next start)."""

    @abstractmethod
    async def detach_interface(self, uuid: str, nic: Nic) -> None:
        """Unplug the NIC of that MAC; a NIC the guest lacks is not an error."""
