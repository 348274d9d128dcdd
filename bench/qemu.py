"""QEMU driver figures: real TCG guests of the nimbus guest image through the HTTP API.

Run: `.venv/bin/python bench/qemu.py [--boots 10] [--idle 6] [--snapshots 3]
[--whole-disk]`. It starts a real `nimbus up --driver qemu --no-dataplane` on free ports
in a temporary data dir, waits until the `nimbus-guest` image is registered (built on a
cold cache; `--whole-disk` then boots a copy of it without its kernel_id), then:

1. boots m1.tiny servers one after another, each alone (the previous one has printed
   its boot line): request → ACTIVE (polls of `GET /servers/{id}` every 10 ms) and
   request → the guest's `BOOT_LINE` in its console log (the file on the host, read
   every 10 ms: the API's console action would add an RPC hop per poll). The first
   `--idle` servers are kept running, the others deleted once measured. Each boot is
   broken down: request → ACTIVE by the files the driver's spawn makes, in order (seen
   by the same polls), and the guest's boot by the kernel's own clock on its console;
2. once the kept guests are idle, reads each QEMU's VmRSS and CPU use over 10 s and
   the host's MemAvailable, and derives how many idle tiny guests the host could hold
   by memory and by CPU (derived figures: that many guests are not booted), beside
   what Placement's inventory of the host admits;
3. snapshots one guest `--snapshots` times: `createImage` → the image `active`.

Everything it started (servers, QEMU processes, `nimbus up`, the data dir) is stopped
or removed at the end, on failure too.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.compute import Cpu, percentile
from bench.identity import _password_auth as password_auth  # the same admin login
from nimbus.guest import BOOT_LINE, IMAGE_NAME, READY_LINE
from tests.processes import free_offset, rc_environment, start
from tests.system.qemu_support import kill_all, qemu_pids

LATEST = {"OpenStack-API-Version": "compute 2.100"}
POLL = 0.01
#: Seconds over which the kept guests' idle CPU is measured (after their ready line),
#: before their RSS is read.
SETTLE = 10.0
#: (step of the driver's spawn, the file whose appearance in the instance directory
#: ends it), in the order the spawn makes them; ACTIVE ends the last step.
SPAWN_STEPS = (
    ("API, scheduler, conductor, agent", ""),
    ("base fetch + check", "disk"),
    ("overlay create + grow", "disk.config"),
    ("config drive", "guest.json"),
    ("QEMU start to pidfile", "qemu.pid"),
    ("QMP up, state written, poll", None),
)
#: A guest's kernel log line: "[    1.234567] …" (seconds since the kernel started).
KERNEL_STAMP = re.compile(r"^\[\s*(\d+\.\d+)\]", re.MULTILINE)


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 300.0) -> float:
    """perf_counter() at the first poll where `await check()` holds."""
    deadline = time.perf_counter() + timeout
    while not await check():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(POLL)
    return time.perf_counter()


@dataclass
class Boot:
    """One boot's times in seconds from sending the request."""

    server: str
    active: float
    first_output: float
    boot_line: float
    #: The kernel's clock when the serial console came up and at its last line.
    console_enabled_at: float
    last_kernel_line_at: float
    #: When each file of SPAWN_STEPS was first seen in the instance directory.
    seen: dict[str, float]

    @property
    def spawn(self) -> dict[str, float]:
        """Where request→ACTIVE went (a step ends when its file appears)."""
        ends = [0.0] + [
            self.active if name is None else self.seen.get(name, math.nan)
            for _, name in SPAWN_STEPS
        ]
        return {step: ends[k + 1] - ends[k] for k, (step, _) in enumerate(SPAWN_STEPS)}

    @property
    def phases(self) -> dict[str, float]:
        """Where the time went: the kernel started at first_output - console_enabled_at
        (firmware, syslinux loading kernel and initramfs, decompression before it)."""
        kernel = self.first_output - self.console_enabled_at
        return {
            "request→ACTIVE": self.active,
            "ACTIVE→kernel start": kernel - self.active,
            "kernel+initramfs": self.last_kernel_line_at,
            "→boot line (userland)": self.boot_line - kernel - self.last_kernel_line_at,
        }


class Bench:
    def __init__(self, compute: httpx.AsyncClient, images: httpx.AsyncClient, data: Path):
        self.compute = compute
        self.images = images
        self.instances = data / "instances"

    async def status(self, server: str) -> str:
        response = await self.compute.get(f"/v2.1/servers/{server}")
        body = response.json()["server"]
        if body["status"] == "ERROR":
            raise RuntimeError(f"{server} went to ERROR: {body.get('fault')}")
        return body["status"]

    def console(self, server: str) -> str:
        try:
            return (self.instances / server / "console.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    async def boot(self, image: str, flavor: str, name: str) -> Boot:
        """One boot, timed from sending the request."""
        began = time.perf_counter()
        body = {
            "server": {"name": name, "imageRef": image, "flavorRef": flavor, "networks": "none"}
        }
        response = await self.compute.post("/v2.1/servers", json=body)
        assert response.status_code == 202, response.text
        server = response.json()["server"]["id"]
        first_output: list[float] = []
        seen: dict[str, float] = {}

        async def active() -> bool:
            for _, name in SPAWN_STEPS:
                if (
                    name is not None
                    and name not in seen
                    and (self.instances / server / name).exists()
                ):
                    seen[name] = time.perf_counter() - began
            return await self.status(server) == "ACTIVE"

        async def booted() -> bool:
            console = self.console(server)
            if console and not first_output:
                first_output.append(time.perf_counter())
            return BOOT_LINE in console

        activated = await until(f"{name} ACTIVE", active)
        marker = await until(f"{name} boot line", booted)
        output = first_output[0] if first_output else marker
        return Boot(
            server,
            activated - began,
            output - began,
            marker - began,
            *kernel_clock(self.console(server)),
            seen,
        )

    async def delete(self, server: str) -> None:
        response = await self.compute.delete(f"/v2.1/servers/{server}")
        assert response.status_code == 204, response.text

        async def gone() -> bool:
            return (await self.compute.get(f"/v2.1/servers/{server}")).status_code == 404

        await until(f"{server} deleted", gone, 60)

    async def snapshot(self, server: str, name: str) -> float:
        began = time.perf_counter()
        response = await self.compute.post(
            f"/v2.1/servers/{server}/action", json={"createImage": {"name": name}}
        )
        assert response.status_code == 202, response.text
        image = response.json()["image_id"]

        async def active() -> bool:
            status = (await self.images.get(f"/v2/images/{image}")).json()["status"]
            if status in ("killed", "deleted"):
                raise RuntimeError(f"snapshot {name} ended {status}")
            return status == "active"

        taken = await until(f"snapshot {name}", active, 120) - began
        await self.images.delete(f"/v2/images/{image}")
        return taken


def kernel_clock(console: str) -> tuple[float, float]:
    """The kernel's own clock (seconds since it started) at the line that enabled the
    serial console (the first output the host sees: earlier lines are replayed then)
    and at its last line before the boot line; (nan, nan) when the console has none."""
    head = console.split(BOOT_LINE)[0]
    enabled = re.search(r"^\[\s*(\d+\.\d+)\].*console \[ttyS0\] enabled", head, re.MULTILINE)
    stamps = KERNEL_STAMP.findall(head)
    if not enabled or not stamps:
        return math.nan, math.nan
    return float(enabled.group(1)), float(stamps[-1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable")


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def quantiles(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.2f} s, p95 {percentile(values, 95):.2f} s"


async def wait_image(images: httpx.AsyncClient) -> str:
    """The registered guest image's id, once active (it may still be building)."""
    found: dict[str, str] = {}

    async def active() -> bool:
        listed = (await images.get("/v2/images", params={"name": IMAGE_NAME})).json()["images"]
        found.update({i["id"]: i["status"] for i in listed})
        return "active" in found.values()

    await until("guest image registered", active, 900)
    return next(image for image, status in found.items() if status == "active")


async def whole_disk_copy(images: httpx.AsyncClient, image: str) -> str:
    """The registered image's disk as an image of its own, without the kernel_id,
    ramdisk_id and os_command_line `nimbus up` gives it: its guests boot through SeaBIOS
    and the disk's bootloader, as any whole-disk image a user uploads does."""
    data = (await images.get(f"/v2/images/{image}/file")).content
    created = await images.post(
        "/v2/images",
        json={"name": f"{IMAGE_NAME}-whole-disk", "disk_format": "qcow2",
              "container_format": "bare"},
    )  # fmt: skip
    copy: str = created.json()["id"]
    headers = {"Content-Type": "application/octet-stream"}
    uploaded = await images.put(f"/v2/images/{copy}/file", content=data, headers=headers)
    assert uploaded.status_code == 204, uploaded.text
    return copy


async def run(
    urls: dict[str, str], token: str, project: str, data: Path, options: argparse.Namespace
) -> None:
    async with (
        httpx.AsyncClient(
            base_url=urls["compute"], headers={"X-Auth-Token": token, **LATEST}, timeout=60
        ) as compute,
        httpx.AsyncClient(
            base_url=urls["image"], headers={"X-Auth-Token": token}, timeout=60
        ) as images,
        httpx.AsyncClient(
            base_url=urls["placement"],
            headers={"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.39"},
        ) as placement,
    ):
        bench = Bench(compute, images, data)
        unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
        assert (await compute.put(f"/v2.1/os-quota-sets/{project}", json=unlimited)).is_success
        image = await wait_image(images)
        source = IMAGE_NAME
        if options.whole_disk:
            image, source = await whole_disk_copy(images, image), f"{IMAGE_NAME}-whole-disk"
        flavors = (await compute.get("/v2.1/flavors/detail")).json()["flavors"]
        flavor = next(f for f in flavors if f["name"] == "m1.tiny")
        kept: list[str] = []
        booted: list[Boot] = []
        print(f"{options.boots} boots of m1.tiny from {source}, one at a time ({load()})")
        for i in range(options.boots):
            boot = await bench.boot(image, flavor["id"], f"bench-{i}")
            booted.append(boot)
            phases = ", ".join(f"{k} {v:.2f}" for k, v in boot.phases.items())
            spawn = ", ".join(f"{k} {v:.2f}" for k, v in boot.spawn.items())
            print(f"  boot {i + 1}: boot line at {boot.boot_line:.2f} s: {phases} ({load()})")
            print(f"    request→ACTIVE {boot.active:.2f} s: {spawn}")
            if len(kept) < options.idle:
                kept.append(boot.server)
            else:
                await bench.delete(boot.server)
        for figure in ("active", "boot_line"):
            values = [getattr(boot, figure) for boot in booted]
            print(f"request → {figure}: {quantiles(values)} (first boot {values[0]:.2f} s)")
        warm = booted[1:] or booted
        for figure in ("active", "boot_line"):
            values = [getattr(b, figure) for b in warm]
            print(f"request → {figure}, boots 2-{len(booted)}: {quantiles(values)}")
        for label, part in (("boot", "phases"), ("request→ACTIVE", "spawn")):
            steps = getattr(warm[0], part)
            medians = {k: statistics.median(getattr(b, part)[k] for b in warm) for k in steps}
            shown = ", ".join(f"{k} {v:.2f} s" for k, v in medians.items())
            print(f"median {label} steps, boots 2-{len(booted)}: {shown}")

        for server in kept:
            await until(f"{server} ready", lambda s=server: _has(bench, s, READY_LINE), 120)
        pids = qemu_pids(bench.instances)
        cpus = [Cpu(pids[server]) for server in kept]
        await asyncio.sleep(SETTLE)
        busy = statistics.mean(cpu.since_mark() / SETTLE for cpu in cpus)
        sizes = [rss_mib(pids[server]) for server in kept]
        available = mem_available_mib()
        per_guest = statistics.mean(sizes)
        print(
            f"idle m1.tiny guests: RSS {', '.join(f'{s:.0f}' for s in sizes)} MiB "
            f"(mean {per_guest:.0f} MiB), CPU {busy * 100:.1f} % of a core each; "
            f"MemAvailable with {len(kept)} running {available:.0f} MiB ({load()})"
        )
        print(
            f"derived capacity (not booted): ≈ {len(kept) + int(available / per_guest)} idle "
            f"tiny guests by memory, ≈ {int(len(os.sched_getaffinity(0)) / busy)} by idle CPU; "
            f"Placement admits {await admitted(placement, flavor)} m1.tiny on this host"
        )

        taken = [await bench.snapshot(kept[0], f"bench-snap-{i}") for i in range(options.snapshots)]
        print(f"snapshot (createImage → image active), {len(taken)} times: {quantiles(taken)}")
        for server in kept:
            await bench.delete(server)


async def admitted(placement: httpx.AsyncClient, flavor: dict[str, Any]) -> str:
    """How many servers of `flavor` Placement's inventory of the one host admits, per
    resource: (total - reserved) x allocation ratio / the flavor's amount."""
    [provider] = (await placement.get("/resource_providers")).json()["resource_providers"]
    url = f"/resource_providers/{provider['uuid']}/inventories"
    inventories = (await placement.get(url)).json()["inventories"]
    wanted = {"VCPU": flavor["vcpus"], "MEMORY_MB": flavor["ram"]}
    counts = {
        resource: int((record["total"] - record["reserved"]) * record["allocation_ratio"] / need)
        for resource, need in wanted.items()
        if (record := inventories.get(resource))
    }
    return ", ".join(f"{count} by {resource}" for resource, count in counts.items())


async def _has(bench: Bench, server: str, line: str) -> bool:
    return line in bench.console(server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--boots", type=int, default=10)
    parser.add_argument("--idle", type=int, default=6)
    parser.add_argument("--snapshots", type=int, default=3)
    parser.add_argument(
        "--whole-disk",
        action="store_true",
        help="boot a copy of nimbus-guest without its kernel_id (through its bootloader)",
    )
    options = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="nimbus-bench-qemu-"))
    running = None
    try:
        running = start(
            ["up", "--data-dir", str(data), "--driver", "qemu", "--no-dataplane"],
            offset=free_offset(),
        )
        env = rc_environment(data / "adminrc")
        with httpx.Client(base_url=running.url("identity")) as identity:
            issued = identity.post("/v3/auth/tokens", json=password_auth(env))
            token = issued.headers["x-subject-token"]
            project = issued.json()["token"]["project"]["id"]
        urls = {kind: running.url(kind) for kind in ("compute", "image", "placement")}
        print(f"nimbus up --driver qemu (server pid {running.process.pid})")
        uvloop.run(run(urls, token, project, data, options))
    finally:
        try:
            if running is not None:
                running.stop()
        finally:
            kill_all(data / "instances")
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
