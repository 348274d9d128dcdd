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
    #: Local path of the image's data, when the agent has it (the fake driver ignores it).
    image_path: Path | None = None
    user_data: str | None = None
    key_data: str | None = None
    admin_password: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

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
            key_data=instance.get("key_data"),
            **extra,
        )


class Driver(ABC):
    """One hypervisor on one host. Power states are Nova's integers (compute.states)."""

    #: Short name shown as the hypervisor type.
    name: str = "driver"

    async def init_host(self, host: str) -> None:  # noqa: B027 - optional hook
        """Prepare the hypervisor before the agent takes requests (default: nothing)."""

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
        """First half of a resize, on the source: stop the guest and hand its disk over."""

    @abstractmethod
    async def finish_migration(self, guest: Guest, *, power_on: bool) -> None:
        """Second half of a resize, on the destination: the guest with its new size."""

    @abstractmethod
    async def confirm_migration(self, uuid: str) -> None:
        """A confirmed resize: drop what the source kept for a revert."""

    @abstractmethod
    async def finish_revert_migration(self, guest: Guest, *, power_on: bool) -> None:
        """A reverted resize, on the source: the guest as it was before."""

    @abstractmethod
    async def get_console_output(self, uuid: str) -> str:
        """The guest's serial console log so far."""
