"""Starting and stopping the daemons a process runs (conductor, scheduler, compute).

The conductor and the scheduler start first, so that compute agents starting in the
same process find a conductor to register through; in the scale-out mode an agent
simply waits for one (its registration call times out after ``rpc_timeout``).
"""

from __future__ import annotations

import socket
from pathlib import Path

from nimbus import virt
from nimbus.compute.options import ComputeOptions
from nimbus.db.engine import Database
from nimbus.rpc import Bus
from nimbus.services.base import Deps, Service, halt, launch
from nimbus.storage.images import FileImageStore

#: Roles that are daemons (the api role serves HTTP instead).
DAEMON_ROLES = ("conductor", "scheduler", "compute")


def deps_for(
    db: Database, bus: Bus, options: ComputeOptions, data_dir: Path, service_down_time: float
) -> Deps:
    return Deps(
        db=db,
        bus=bus,
        options=options,
        service_down_time=service_down_time,
        image_store=FileImageStore(data_dir / "images"),
    )


def _driver(options: ComputeOptions) -> virt.Driver:
    if options.driver == "fake":
        return virt.load(
            "fake",
            vcpus=options.fake_vcpus,
            memory_mb=options.fake_memory_mb,
            local_gb=options.fake_local_gb,
        )
    if options.driver == "qemu":
        return virt.load(
            "qemu",
            instances_path=options.instances_path,
            force_config_drive=options.force_config_drive,
            shutdown_timeout=options.shutdown_timeout,
            tcg_tb_size_mb=options.tcg_tb_size_mb,
        )
    return virt.load(options.driver)


async def start(deps: Deps, roles: tuple[str, ...]) -> list[Service]:
    """Start the daemons among `roles`; they run until `stop`."""
    from nimbus.services.compute import ComputeAgent
    from nimbus.services.conductor import ConductorService
    from nimbus.services.scheduler import SchedulerService

    me = socket.gethostname()
    started: list[Service] = []
    if "conductor" in roles:
        started.append(ConductorService(deps, me))
    if "scheduler" in roles:
        started.append(SchedulerService(deps, me))
    if "compute" in roles:
        started += [ComputeAgent(deps, h, _driver(deps.options)) for h in deps.options.hosts()]
    for service in started:
        await launch(service)
    return started


async def stop(services: list[Service]) -> None:
    for service in reversed(services):
        await halt(service)
