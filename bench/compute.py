"""Compute figures: boots through the HTTP API on 100 simulated hosts (fake driver).

Run: `.venv/bin/python bench/compute.py [--servers N] [--hosts H]`. It starts a real
`nimbus up --fake-hosts H` on free ports (API, conductor, scheduler and H compute
agents in one process, SQLite, the in-process bus), lifts the admin project's quota,
uploads an image, then:

1. boots N servers one after another (concurrency 1): request→ACTIVE p50/p95 and
   servers/s; `GET /servers/detail` p50 once 100 and once N servers exist;
2. deletes them from 32 concurrent clients: deletes/s until every one is gone;
3. boots N servers from 32 concurrent clients: request→ACTIVE p50/p95, servers/s;
4. checks from Placement's usages that no host ends oversubscribed, then deletes all.

Latency is measured from sending the POST to the first poll that sees the server
ACTIVE; one watcher polls `GET /servers?status=ACTIVE&changes-since=…` for all
waiting boots (every 4 ms at concurrency 1, every 25 ms at 32, looking back 2 s and
once a second 15 s), so polling costs little whatever the concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.identity import _password_auth as password_auth  # the same admin login
from tests.processes import free_offset, rc_environment, start

LATEST = {"OpenStack-API-Version": "compute 2.100"}
#: Seconds between polls: short when one boot is timed alone, longer under load so
#: that polling takes little of the CPU the boots need (a poll per 25 ms).
POLL = {1: 0.004, 32: 0.025}
#: How far back before the previous poll each poll looks: a change is stamped inside
#: its transaction, before the commit, so a poll must look back further than the
#: longest commit lag. Most polls look back NEAR (small answers: polling costs the
#: server little); one poll per SWEEP seconds looks back FAR, so that a boot whose
#: commit lagged more is still seen (later, which only makes its figure worse).
NEAR = timedelta(seconds=2)
FAR = timedelta(seconds=15)
SWEEP = 1.0
#: Requests per `GET /servers/detail` figure.
DETAIL_SAMPLES = 30


def qcow2() -> bytes:
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        *(b"QFI\xfb", 3, 0, 0, 16, 1 << 30, 0, 1, 0x30000, 0x10000, 1, 0, 0),
        *(0, 0, 0, 4, 104),
    )
    return header.ljust(1 << 16, b"\0")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Watcher:
    """Resolves a future per server once a poll shows it ACTIVE (or ERROR).

    It polls the brief list filtered on status and changes-since, the cheapest
    question the API answers, so that measuring disturbs what is measured as little
    as possible.
    """

    def __init__(self, client: httpx.AsyncClient, concurrency: int) -> None:
        self.client = client
        self.poll = POLL.get(concurrency, POLL[32])
        self.waiting: dict[str, asyncio.Future[float]] = {}
        #: Servers seen ACTIVE before anyone waited for them, and when.
        self.early: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def wait(self, uuid: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        if uuid in self.early:
            # A poll saw it ACTIVE before its POST's answer was read.
            future.set_result(self.early.pop(uuid))
        else:
            self.waiting[uuid] = future
        return future

    async def __aenter__(self) -> Watcher:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _run(self) -> None:
        since = datetime.now(UTC) - FAR
        swept = time.perf_counter()
        while True:
            if not self.waiting:
                await asyncio.sleep(self.poll)  # idle: leave the server alone
                continue
            began = datetime.now(UTC)
            params = [
                ("changes-since", since.isoformat()),
                ("status", "ACTIVE"),
                ("status", "ERROR"),
            ]
            response = await self.client.get("/v2.1/servers", params=params)
            seen = time.perf_counter()
            if response.status_code != 200:
                print(f"  poll failed: {response.status_code} {response.text[:200]}")
                await asyncio.sleep(self.poll)
                continue
            for server in response.json()["servers"]:
                future = self.waiting.pop(server["id"], None)
                if future is None:
                    self.early.setdefault(server["id"], seen)
                elif not future.done():
                    future.set_result(seen)
            if seen - swept >= SWEEP:
                since, swept = began - FAR, seen
            else:
                since = began - NEAR
            await asyncio.sleep(self.poll)


async def boot_one(client: httpx.AsyncClient, watcher: Watcher, image: str, name: str) -> float:
    began = time.perf_counter()
    response = await client.post(
        "/v2.1/servers",
        json={"server": {"name": name, "imageRef": image, "flavorRef": "1", "networks": "none"}},
    )
    assert response.status_code == 202, response.text
    uuid = response.json()["server"]["id"]
    return await watcher.wait(uuid) - began


async def boots(
    client: httpx.AsyncClient,
    image: str,
    count: int,
    concurrency: int,
    prefix: str,
    at: dict[int, Any] | None = None,
) -> tuple[list[float], float]:
    """Boot `count` servers from `concurrency` workers; latencies and wall time.
    `at` maps a number of booted servers to a coroutine function run at that point."""
    watcher = Watcher(client, concurrency)
    latencies: list[float] = []
    queue = iter(range(count))
    began = time.perf_counter()

    async def worker() -> None:
        for i in queue:
            latencies.append(await boot_one(client, watcher, image, f"{prefix}-{i}"))
            if at and len(latencies) in at and concurrency == 1:
                await at[len(latencies)]()

    async with watcher:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    failed = (await client.get("/v2.1/servers/detail", params={"status": "ERROR"})).json()
    if failed["servers"]:
        example = failed["servers"][0].get("fault")
        print(f"  {len(failed['servers'])} boots ended in ERROR, e.g. {example}")
    return latencies, wall


async def detail_p50(client: httpx.AsyncClient) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(DETAIL_SAMPLES):
        began = time.perf_counter()
        response = await client.get("/v2.1/servers/detail")
        times.append(time.perf_counter() - began)
        count = len(response.json()["servers"])
    return statistics.median(times), count


async def delete_all(client: httpx.AsyncClient, concurrency: int) -> tuple[int, float]:
    uuids = [s["id"] for s in (await client.get("/v2.1/servers")).json()["servers"]]
    began = time.perf_counter()
    queue = iter(uuids)

    async def worker() -> None:
        for uuid in queue:
            response = await client.delete(f"/v2.1/servers/{uuid}")
            assert response.status_code == 204, response.text

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    while (await client.get("/v2.1/servers", params={"limit": "1"})).json()["servers"]:
        await asyncio.sleep(0.01)
    return len(uuids), time.perf_counter() - began


async def check_usages(placement: httpx.AsyncClient) -> tuple[int, int]:
    """(hosts, servers' worth of MEMORY_MB in use); asserts none is oversubscribed."""
    providers = (await placement.get("/resource_providers")).json()["resource_providers"]
    used_total = 0
    for provider in providers:
        base = f"/resource_providers/{provider['uuid']}"
        usages = (await placement.get(f"{base}/usages")).json()["usages"]
        inventories = (await placement.get(f"{base}/inventories")).json()["inventories"]
        for resource, used in usages.items():
            record = inventories[resource]
            capacity = (record["total"] - record["reserved"]) * record["allocation_ratio"]
            assert used <= capacity, f"{provider['name']} oversubscribed: {resource} {used}"
        used_total += usages.get("MEMORY_MB", 0)
    return len(providers), used_total // 512


class Cpu:
    """The server process's CPU time (user + system): the work a request costs,
    which, unlike wall-clock figures, the load of a shared machine hardly changes."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/stat")
        self.mark = self.seconds()

    def seconds(self) -> float:
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def since_mark(self) -> float:
        """Seconds used since the last call (or since it was made)."""
        now = self.seconds()
        used, self.mark = now - self.mark, now
        return used


def report(label: str, latencies: list[float], wall: float, cpu: float) -> None:
    print(
        f"{label}: {len(latencies)} boots in {wall:.1f} s = {len(latencies) / wall:.1f} servers/s; "
        f"request→ACTIVE p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.0f} ms; "
        f"server CPU {cpu / len(latencies) * 1000:.1f} ms per boot (polls included)"
    )


async def show_detail(client: httpx.AsyncClient, cpu: Cpu) -> None:
    cpu.since_mark()
    p50, count = await detail_p50(client)
    print(
        f"GET /servers/detail with {count} servers: p50 {p50 * 1000:.1f} ms, "
        f"server CPU {cpu.since_mark() / DETAIL_SAMPLES * 1000:.1f} ms per request"
    )


async def run(urls: dict[str, str], token: str, project: str, servers: int, cpu: Cpu) -> None:
    headers = {"X-Auth-Token": token, **LATEST}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(
            base_url=urls["compute"], headers=headers, limits=limits, timeout=120
        ) as client,
        httpx.AsyncClient(base_url=urls["image"], headers={"X-Auth-Token": token}) as images,
        httpx.AsyncClient(
            base_url=urls["placement"],
            headers={"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.39"},
        ) as placement,
    ):
        unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
        response = await client.put(f"/v2.1/os-quota-sets/{project}", json=unlimited)
        assert response.status_code == 200, response.text
        image = (
            await images.post(
                "/v2/images",
                json={"name": "bench", "disk_format": "qcow2", "container_format": "bare"},
            )
        ).json()["id"]
        await images.put(
            f"/v2/images/{image}/file",
            content=qcow2(),
            headers={"content-type": "application/octet-stream"},
        )

        async def detail_at_100() -> None:
            await show_detail(client, cpu)

        cpu.since_mark()
        latencies, wall = await boots(client, image, servers, 1, "seq", {100: detail_at_100})
        report("concurrency 1", latencies, wall, cpu.since_mark())
        await show_detail(client, cpu)
        hosts, held = await check_usages(placement)
        print(f"placement: {hosts} hosts, none oversubscribed ({held} tiny servers' RAM held)")
        deleted, wall = await delete_all(client, 32)
        print(
            f"delete (32 clients): {deleted} servers gone in {wall:.1f} s = "
            f"{deleted / wall:.1f} deletes/s"
        )

        cpu.since_mark()
        latencies, wall = await boots(client, image, servers, 32, "par")
        report("concurrency 32", latencies, wall, cpu.since_mark())
        hosts, held = await check_usages(placement)
        print(f"placement: {hosts} hosts, none oversubscribed ({held} tiny servers' RAM held)")
        deleted, wall = await delete_all(client, 32)
        print(
            f"delete (32 clients): {deleted} servers gone in {wall:.1f} s = "
            f"{deleted / wall:.1f} deletes/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nimbus-bench-compute-"))
    running = start(
        ["up", "--data-dir", str(workdir), "--driver", "fake", "--fake-hosts", str(options.hosts)],
        offset=free_offset(),
    )
    try:
        env = rc_environment(workdir / "adminrc")
        with httpx.Client(base_url=running.url("identity")) as identity:
            issued = identity.post("/v3/auth/tokens", json=password_auth(env))
            token = issued.headers["x-subject-token"]
            project = issued.json()["token"]["project"]["id"]
        urls = {kind: running.url(kind) for kind in ("compute", "image", "placement")}
        print(f"nimbus up with {options.hosts} fake hosts (server pid {running.process.pid})")
        uvloop.run(run(urls, token, project, options.servers, Cpu(running.process.pid)))
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
