"""One Nimbus process: the roles it runs, how it starts and how it stops.

`nimbus up` runs every role on SQLite and the in-process bus; `nimbus serve ROLE…`
runs chosen roles against a shared database and broker. Both go through `Process`,
so the all-in-one mode is the scale-out mode folded into one process, not a toy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from nimbus import rcfiles
from nimbus.api.common.policy import Enforcer
from nimbus.config import SERVICE_PORTS, Settings
from nimbus.db import migrate
from nimbus.db.engine import Database
from nimbus.identity import passwords
from nimbus.identity.auth import Authenticator
from nimbus.identity.bootstrap import BootstrapResult, Endpoint, bootstrap
from nimbus.identity.tokens import load_codec
from nimbus.rpc import Bus, connect

LOG = logging.getLogger(__name__)

ROLES = ("api", "conductor", "scheduler", "compute")
#: The data plane of this host (nimbus.services.network); in `nimbus up` only where
#: real guests run and the process can build it (see `_with_dataplane`).
NETWORK_AGENT = "network-agent"
#: Catalog names of the services the api role serves.
SERVICE_NAMES = {
    "identity": "keystone",
    "image": "glance",
    "placement": "placement",
    "compute": "nova",
    "network": "neutron",
}


class SchemaOutOfDate(RuntimeError):
    """The database is not at the newest schema and this process may not migrate it."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process (several per loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def catalog_endpoints(settings: Settings) -> list[Endpoint]:
    """What the catalog lists for the services this cloud serves."""
    return [
        Endpoint(type=kind, name=SERVICE_NAMES[kind], url=_service_url(settings, kind))
        for kind in SERVICE_PORTS
    ]


#: Path suffixes of catalog URLs (Keystone's /v3, Nova's /v2.1, as upstream lists them).
URL_SUFFIXES = {"identity": "/v3", "compute": "/v2.1"}


def _service_url(settings: Settings, kind: str) -> str:
    return settings.url(kind) + URL_SUFFIXES.get(kind, "")


def _identity_policy(settings: Settings) -> Enforcer:
    from nimbus.api.identity.policies import DEFAULTS, SCOPE_TYPES

    return Enforcer(DEFAULTS, settings.policy_file, scope_types=SCOPE_TYPES)


def _placement_policy(settings: Settings) -> Enforcer:
    from nimbus.api.placement.policies import DEFAULTS, SCOPE_TYPES

    return Enforcer(DEFAULTS, settings.policy_file, scope_types=SCOPE_TYPES)


def _compute_state(settings: Settings) -> dict[str, Any]:
    """What the compute app needs beyond the common state: Nova's default policies,
    the heartbeat age after which a service is down, the network options (its
    network proxies allocate floating IPs and check the network quotas) and the image
    store (a deleted shelved server's snapshot goes with it)."""
    from nimbus.api.compute.policies import DEFAULTS, SCOPE_TYPES
    from nimbus.storage.images import FileImageStore

    return {
        "policy": Enforcer(DEFAULTS, settings.policy_file, scope_types=SCOPE_TYPES),
        "service_down_time": settings.service_down_time,
        "network_options": settings.network,
        "image_store": FileImageStore(settings.data_dir / "images"),
    }


def _network_state(settings: Settings) -> dict[str, Any]:
    """What the network app needs beyond the common state: Neutron's default policies
    and the type-driver, MAC and quota options (nimbus.network.options)."""
    from nimbus.api.network.policies import DEFAULTS, SCOPE_TYPES

    return {
        "policy": Enforcer(DEFAULTS, settings.policy_file, scope_types=SCOPE_TYPES),
        "network_options": settings.network,
    }


def _image_state(settings: Settings) -> dict[str, Any]:
    """What the image app needs beyond the common state: its policy, where image data
    lives (`<data dir>/images`) and the upload size cap."""
    from nimbus.api.image.policies import DEFAULTS, SCOPE_TYPES
    from nimbus.storage.images import FileImageStore

    return {
        "policy": Enforcer(DEFAULTS, settings.policy_file, scope_types=SCOPE_TYPES),
        "store": FileImageStore(settings.data_dir / "images"),
        "image_size_cap": settings.image_size_cap,
    }


@dataclass
class Process:
    """The running parts of one process, started and stopped as a unit."""

    settings: Settings
    roles: tuple[str, ...]
    db: Database = field(init=False)
    bus: Bus = field(init=False)
    servers: list[_Server] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    daemons: list[Any] = field(default_factory=list)

    async def prepare(self, *, migrate_schema: bool) -> None:
        """Open the database (migrating it or checking it is current) and the bus."""
        passwords.set_rounds(self.settings.password_rounds)
        self.db = Database(self.settings.database_url)
        if migrate_schema:
            await migrate.upgrade(self.db)
        elif not await migrate.is_current(self.db):
            raise SchemaOutOfDate(
                "the database schema is not current: run `nimbus db upgrade` first"
            )
        self.bus = connect(self.settings.transport_url)
        await self.bus.start()

    async def bootstrap(self) -> BootstrapResult:
        """Identity's admin, roles and catalog, and the `public` external network."""
        from nimbus.network.bootstrap import ensure_public_network

        async with self.db.transaction() as session:
            result = await bootstrap(
                session,
                region=self.settings.region,
                endpoints=catalog_endpoints(self.settings),
                admin_password=self.settings.admin_password,
            )
            await ensure_public_network(session, self.settings.network, result.admin_project_id)
            return result

    async def _api_state(self) -> dict[str, Any]:
        async with self.db.transaction() as session:
            codec = await load_codec(session)
        return {
            "db": self.db,
            "authenticator": Authenticator(codec, self.settings.token_expiration),
            "max_body_bytes": self.settings.max_body_bytes,
        }

    async def build_apps(self) -> dict[str, Any]:
        """The ASGI app of every API service, by catalog type."""
        from nimbus.api.compute.app import create_app as create_compute_app
        from nimbus.api.identity.app import create_app
        from nimbus.api.image.app import create_app as create_image_app
        from nimbus.api.network.app import create_app as create_network_app
        from nimbus.api.placement.app import create_app as create_placement_app

        state = await self._api_state()
        return {
            "identity": create_app({**state, "policy": _identity_policy(self.settings)}),
            "image": create_image_app({**state, **_image_state(self.settings)}),
            "placement": create_placement_app(
                {**state, "policy": _placement_policy(self.settings)}
            ),
            "compute": create_compute_app(
                {**state, **_compute_state(self.settings), "bus": self.bus}
            ),
            "network": create_network_app({**state, **_network_state(self.settings)}),
        }

    async def start(self) -> None:
        """Start every role; returns once all of them listen."""
        if "api" in self.roles:
            for kind, app in (await self.build_apps()).items():
                await self._listen(kind, app)
        await self.start_daemons()

    async def start_daemons(self) -> None:
        """The conductor, scheduler and compute agents among this process's roles."""
        from nimbus.services import runner

        roles = tuple(r for r in self.roles if r in runner.DAEMON_ROLES)
        if roles:
            deps = runner.deps_for(
                self.db,
                self.bus,
                self.settings.compute,
                self.settings.data_dir,
                self.settings.service_down_time,
                self.settings.network,
            )
            self.daemons = await runner.start(deps, roles)
        if NETWORK_AGENT in self.roles:
            from nimbus.services import network

            self.daemons.append(await network.start(self.db, self.bus, self.settings))

    async def _listen(self, kind: str, app: Any) -> None:
        config = uvicorn.Config(
            app,
            host=self.settings.bind,
            port=self.settings.port(kind),
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(), name=f"serve-{kind}")
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"{kind} API did not start on port {config.port}")
            await asyncio.sleep(0.01)
        self.servers.append(server)
        self.tasks.append(task)
        self.urls[kind] = _service_url(self.settings, kind)

    def request_stop(self) -> None:
        self.stopping.set()

    async def stop(self) -> None:
        """Stop listening, finish in-flight requests, close the bus and the database."""
        for server in self.servers:
            server.should_exit = True
        await asyncio.gather(*self.tasks)
        if self.daemons:
            from nimbus.services import runner

            await runner.stop(self.daemons)
        await self.bus.close()
        await self.db.close()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)


async def _with_dataplane(settings: Settings, wanted: bool) -> tuple[str, ...]:
    """`nimbus up`'s roles: the network agent joins them only with real guests (the QEMU
    driver) and where this process may build namespaces, so that a fake-driver cloud
    never touches the host's network."""
    if not wanted or settings.compute.driver != "qemu":
        return ROLES
    from nimbus.services.network import dataplane_unavailable

    reason = await dataplane_unavailable()
    if reason is not None:
        LOG.warning("no network data plane: %s (guests get no network)", reason)
        return ROLES
    return (*ROLES, NETWORK_AGENT)


async def run_up(settings: Settings, *, announce: Any = print, dataplane: bool = True) -> int:
    """`nimbus up`: everything in this process, until SIGINT or SIGTERM."""
    process = Process(settings, await _with_dataplane(settings, dataplane))
    await process.prepare(migrate_schema=True)
    result = await process.bootstrap()
    await process.start()
    process.install_signal_handlers()
    password = result.new_admin_password or rcfiles.read_admin_password(settings.data_dir)
    adminrc = rcfiles.write(settings, password or "")
    if result.new_admin_password and not settings.admin_password:
        announce(f"admin password (stored in {adminrc}): {result.new_admin_password}")
    urls = " ".join(f"{kind}={url}" for kind, url in process.urls.items())
    announce(f"nimbus ready: {urls} adminrc={adminrc}", flush=True)
    seeding = _offer_guest_image(process, result.admin_project_id)
    await process.stopping.wait()
    if seeding is not None:
        seeding.cancel()
    await process.stop()
    return 0


def _offer_guest_image(process: Process, owner: str) -> asyncio.Task[Any] | None:
    """With the QEMU driver, register the guest image (built if needed) in the
    background on first start, so a fresh cloud has something to boot."""
    if process.settings.compute.driver != "qemu":
        return None
    from nimbus.storage.images import FileImageStore
    from nimbus.virt.qemu import guest_image

    store = FileImageStore(process.settings.data_dir / "images")
    task = asyncio.create_task(guest_image.register(process.db, store, owner))
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        LOG.error("could not register the guest image: %s", task.exception())


async def run_serve(settings: Settings, roles: tuple[str, ...], *, announce: Any = print) -> int:
    """`nimbus serve ROLE…`: chosen roles against a shared database and bus."""
    process = Process(settings, roles)
    await process.prepare(migrate_schema=False)
    await process.start()
    process.install_signal_handlers()
    urls = " ".join(f"{kind}={url}" for kind, url in process.urls.items())
    announce(f"nimbus ready: roles={','.join(roles)} {urls}", flush=True)
    await process.stopping.wait()
    await process.stop()
    return 0
