"""Starting and stopping the daemons a process runs (conductor, scheduler, compute).

The conductor and the scheduler start first, so that compute agents starting in the
same process find a conductor to register through; in the scale-out mode an agent
simply waits for one (its registration call times out after ``rpc_timeout``).
"""

from __future__ import annotations

import functools
import socket
from pathlib import Path

from nimbus import virt
from nimbus.compute.networking import LocalNetwork
from nimbus.compute.options import ComputeOptions
from nimbus.db.engine import Database
from nimbus.netdev.names import Names
from nimbus.network.options import NetworkOptions
from nimbus.rpc import Bus
from nimbus.services.base import Deps, Service, halt, launch
from nimbus.storage.images import FileImageStore

#: Roles that are daemons (the api role serves HTTP instead).
DAEMON_ROLES = ("conductor", "scheduler", "compute")


def deps_for(
    db: Database,
    bus: Bus,
    options: ComputeOptions,
    data_dir: Path,
    service_down_time: float,
    network_options: NetworkOptions | None = None,
) -> Deps:
    return Deps(
        db=db,
        bus=bus,
        options=options,
        service_down_time=service_down_time,
        image_store=FileImageStore(data_dir / "images"),
        network=_network(db, data_dir, network_options or NetworkOptions()),
    )


def _network(db: Database, data_dir: Path, options: NetworkOptions) -> LocalNetwork:
    """The network service on this database; taps named as this cloud's network agent
    names them (its tag comes from the data directory)."""
    from nimbus.network.topology import tap_name
    from nimbus.services.network import cloud_tag

    return LocalNetwork(db, options, functools.partial(tap_name, Names(cloud_tag(data_dir))))


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
            image_cache_max_age=options.image_cache_max_age,
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
