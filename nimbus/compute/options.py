"""Tunables of the compute daemons (agent, conductor, scheduler), with Nova's defaults
unless a comment says why not.

Filters and weighers are chosen by name, so an operator can drop or reorder them
(``NIMBUS_SCHEDULER_FILTERS=ComputeFilter,AvailabilityZoneFilter``) without code.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FILTERS = (
    "ComputeFilter",
    "AvailabilityZoneFilter",
    "AggregateInstanceExtraSpecsFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
    "SameHostFilter",
    "DifferentHostFilter",
)
DEFAULT_WEIGHERS = ("RAMWeigher", "CPUWeigher", "DiskWeigher")


def _names(variable: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = os.environ.get(variable)
    if value is None:
        return default
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _number(variable: str, default: float) -> float:
    value = os.environ.get(variable)
    return default if value is None else float(value)


@dataclass
class ComputeOptions:
    """Everything the compute daemons of one process are tuned with."""

    #: The driver of this process's compute agents (`fake` or `qemu`).
    driver: str = "fake"
    #: QEMU driver: where guests' directories live (Settings: `<data dir>/instances`).
    instances_path: Path | None = None
    #: QEMU driver: always give guests a config drive (there is no metadata service yet).
    force_config_drive: bool = True
    #: QEMU driver: seconds a guest gets to power off on the ACPI button before it is
    #: stopped hard (Nova's shutdown_timeout).
    shutdown_timeout: float = 60.0
    #: QEMU driver: TCG translation cache per guest, MiB (QEMU's default is 1 GiB).
    tcg_tb_size_mb: int = 32
    #: Seconds between the agent's image cache runs (Nova's image_cache.manager_interval;
    #: ≤ 0: never) and how long a base image no guest uses is kept (Nova's
    #: remove_unused_original_minimum_age_seconds), so that an image booted now and then
    #: is not fetched again every time.
    image_cache_interval: float = 2400.0
    image_cache_max_age: float = 86400.0
    #: The compute agent's host name (default: this machine's).
    host: str = field(default_factory=socket.gethostname)
    #: Extra simulated hosts (fake driver) run by this process: `<prefix>0`… (scale tests).
    fake_hosts: int = 0
    fake_host_prefix: str = "fake-host-"
    #: What each fake host offers. Larger than a laptop so that `nimbus up` can run many
    #: small servers; the benchmark and tests set their own.
    fake_vcpus: int = 64
    fake_memory_mb: int = 131072
    fake_local_gb: int = 2048
    #: Seconds between heartbeats (Nova's report_interval).
    report_interval: float = 10.0
    #: Seconds between power-state syncs (sync_power_state_interval) and inventory
    #: refreshes (update_resources_interval).
    power_sync_interval: float = 600.0
    resource_update_interval: float = 60.0
    #: Nova's initial_*_allocation_ratio and reserved_host_* defaults.
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    reserved_host_disk_mb: int = 0
    reserved_host_cpus: int = 0
    #: Scheduler: filters and weighers by name, strategy, top-N subset, candidate limit.
    filters: tuple[str, ...] = field(
        default_factory=lambda: _names("NIMBUS_SCHEDULER_FILTERS", DEFAULT_FILTERS)
    )
    weighers: tuple[str, ...] = field(
        default_factory=lambda: _names("NIMBUS_SCHEDULER_WEIGHERS", DEFAULT_WEIGHERS)
    )
    #: "spread" (Nova's default: prefer the emptiest host) or "pack" (the fullest).
    strategy: str = field(
        default_factory=lambda: os.environ.get("NIMBUS_SCHEDULER_STRATEGY", "spread")
    )
    host_subset_size: int = field(
        default_factory=lambda: int(_number("NIMBUS_SCHEDULER_HOST_SUBSET_SIZE", 1))
    )
    max_placement_results: int = 1000
    #: Seconds the scheduler trusts its cached view of hosts (services, aggregates).
    host_state_ttl: float = 1.0
    #: Builds tried per instance (the first host and its alternates), [scheduler] max_attempts.
    max_attempts: int = field(
        default_factory=lambda: int(_number("NIMBUS_SCHEDULER_MAX_ATTEMPTS", 3))
    )
    #: Nova defaults this to False; devstack, and a one-host `nimbus up`, need True.
    allow_resize_to_same_host: bool = True
    #: Seconds a compute agent waits for a reply from the conductor.
    rpc_timeout: float = 60.0
    #: Seconds a build may take on its host (Nova's instance_build_timeout); 0: no limit.
    #: The agent gives up a spawn that runs longer (ERROR, guest destroyed, claims
    #: freed), and every `build_timeout` seconds fails its instances left in BUILD with
    #: no spawn running (an agent restarted mid-build). Nova defaults to 0, so a hung
    #: hypervisor call keeps a server in BUILD, holding its claims, forever; 10 minutes
    #: is far above a build here (a QEMU spawn takes well under a second once its image
    #: is cached, a first fetch of a large image a few minutes) and still ends a hung one.
    build_timeout: float = 600.0
    #: Seconds a shelved server keeps its guest and claims before it is offloaded:
    #: 0 offloads at once (Nova's default), -1 never (only shelveOffload does).
    shelved_offload_time: float = 0

    def hosts(self) -> list[str]:
        """The host names of the compute agents this process runs."""
        if self.fake_hosts:
            width = len(str(self.fake_hosts - 1))
            return [f"{self.fake_host_prefix}{i:0{width}d}" for i in range(self.fake_hosts)]
        return [self.host]
