"""The `nimbus` command: up, serve, db upgrade, bootstrap, image build."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from nimbus.config import Settings


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("NIMBUS_DATA_DIR", ".nimbus"))
    )
    parser.add_argument("--database-url", default="", help="default: SQLite in the data dir")


def _listening(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port-offset", type=int, default=0, help="added to every port")
    parser.add_argument("--public-host", default="", help="host name in the catalog URLs")


def _compute(parser: argparse.ArgumentParser) -> None:
    """Options of the compute agents a process runs."""
    parser.add_argument(
        "--driver",
        default="qemu" if shutil.which("qemu-system-x86_64") else "fake",
        choices=["qemu", "fake"],
        help="compute driver (default: qemu where qemu-system-x86_64 is installed)",
    )
    parser.add_argument("--host", default="", help="compute host name (default: this machine's)")
    parser.add_argument(
        "--fake-hosts", type=int, default=0, help="simulate N fake compute hosts in this process"
    )
    parser.add_argument(
        "--instances-path",
        type=Path,
        default=None,
        help="qemu: where guests' directories live (default: DATA_DIR/instances)",
    )
    parser.add_argument(
        "--no-config-drive",
        action="store_true",
        help="qemu: config drives only for servers that ask (guests read the metadata service)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nimbus", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole cloud in this process")
    _common(up)
    _listening(up)
    up.add_argument("--admin-password", default=None)
    up.add_argument(
        "--no-dataplane",
        action="store_true",
        help="never run the network agent (bridges, namespaces, nftables) in this process",
    )
    _compute(up)

    serve = sub.add_parser("serve", help="run chosen roles against a shared database and bus")
    serve.add_argument(
        "roles", nargs="+", choices=["api", "conductor", "scheduler", "compute", "network-agent"]
    )
    _common(serve)
    _listening(serve)
    _compute(serve)
    serve.add_argument(
        "--transport-url",
        default=os.environ.get("NIMBUS_TRANSPORT_URL", "inprocess://"),
        help="e.g. rabbit://guest:guest@127.0.0.1:5672/",
    )

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply every pending migration")
    _common(upgrade)

    boot = sub.add_parser("bootstrap", help="create the admin, roles and catalog (idempotent)")
    _common(boot)
    _listening(boot)
    boot.add_argument("--admin-password", default=None)

    image = sub.add_parser("image", help="the guest image built from Debian packages")
    image_sub = image.add_subparsers(dest="image_command", required=True)
    build = image_sub.add_parser("build", help="build the bootable guest image (qcow2)")
    build.add_argument("--output", type=Path, default=None, help="default: the image cache")
    build.add_argument("--cache-dir", type=Path, default=None, help="deb and image cache")
    return parser


def _image_build(args: argparse.Namespace) -> int:
    """Builds the guest image (into the cache unless --output) and says where and how big."""
    from nimbus import guest

    try:
        if args.output is None:
            path = guest.cached_image(args.cache_dir)
        else:
            path = guest.build_image(args.output, cache_dir=args.cache_dir)
    except RuntimeError as exc:  # a missing tool or package, said plainly
        print(f"nimbus: image build failed: {exc}", file=sys.stderr)
        return 1
    print(f"{path} ({path.stat().st_size / 1024 / 1024:.1f} MiB)")
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    fields: dict[str, Any] = {"data_dir": args.data_dir, "database_url": args.database_url}
    for name in ("bind", "port_offset", "public_host", "admin_password", "transport_url"):
        if hasattr(args, name):
            fields[name] = getattr(args, name)
    settings = Settings(**fields)
    if hasattr(args, "driver"):
        settings.compute.driver = args.driver
        settings.compute.fake_hosts = args.fake_hosts
        settings.compute.force_config_drive = not args.no_config_drive
        if args.instances_path:
            settings.compute.instances_path = args.instances_path.resolve()
        if args.host:
            settings.compute.host = args.host
            settings.compute.fake_host_prefix = f"{args.host}-"
    return settings


async def _db_upgrade(settings: Settings) -> int:
    from nimbus.db import migrate
    from nimbus.db.engine import Database

    db = Database(settings.database_url)
    try:
        applied = await migrate.upgrade(db)
    finally:
        await db.close()
    print("schema upgraded" if applied else "schema already current")
    return 0


async def _bootstrap(settings: Settings) -> int:
    from nimbus.cloud import Process

    process = Process(settings, ())
    await process.prepare(migrate_schema=False)
    try:
        result = await process.bootstrap()
    finally:
        await process.bus.close()
        await process.db.close()
    if result.new_admin_password and not settings.admin_password:
        print(f"admin password: {result.new_admin_password}")
    print(f"bootstrapped: admin user {result.admin_user_id}, project {result.admin_project_id}")
    return 0


def _run(main: Coroutine[Any, Any, int]) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay usable without it
        return asyncio.run(main)
    return uvloop.run(main)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "image":
        return _image_build(args)
    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from nimbus.cloud import SchemaOutOfDate

    try:
        return _run(_command(args, settings))
    except SchemaOutOfDate as exc:
        print(f"nimbus: {exc}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace, settings: Settings) -> Coroutine[Any, Any, int]:
    if args.command == "up":
        from nimbus.cloud import run_up

        return run_up(settings, dataplane=not args.no_dataplane)
    if args.command == "serve":
        from nimbus.cloud import run_serve

        return run_serve(settings, tuple(args.roles))
    if args.command == "db":
        return _db_upgrade(settings)
    return _bootstrap(settings)


if __name__ == "__main__":
    sys.exit(main())
