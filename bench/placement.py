"""Placement figures: allocation candidates over 10,000 providers, and claim throughput.

Run: `.venv/bin/python bench/placement.py [--providers N]`. It starts a real `nimbus up`
on free ports, fills its SQLite database with N providers (bulk SQL through the
models, not N HTTP calls: three inventories each, a trait on every tenth, an
aggregate on every other), then times requests over HTTP from one keep-alive client:

- GET /allocation_candidates at 1.39, with nova's default limit (1000), with the
  small limit a scheduler can be configured with (50), with a required trait and an
  aggregate, and with no limit at all;
- claims (PUT /allocations/{consumer}) from 16 and from 32 concurrent clients spread
  over the providers, then 16 clients all claiming on one provider (every claim
  races; losers retry inside placement);
- DELETE /allocations/{consumer} of those claims from 32 concurrent clients;
- what a boot costs placement: 32 concurrent clients each asking for candidates
  (limit=50) and claiming one of them, then deleting every claim.

- the same boots in-process, as the compute scheduler calls placement (its domain
  functions on the same database, no HTTP, no token): 32 concurrent coroutines each
  searching (limit=50) and claiming, then releasing; CPU of this process per boot.

`--only candidates,claims,deletes,boots,inprocess` runs some of those (e.g. under a
profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.identity import _password_auth as password_auth  # the same admin login
from nimbus.db.base import utcnow
from nimbus.db.engine import Database
from nimbus.db.models.placement import (
    Inventory,
    ProviderAggregate,
    ProviderTrait,
    ResourceClass,
    ResourceProvider,
    Trait,
)
from nimbus.errors import Conflict
from tests.processes import free_offset, rc_environment, start

VERSION = {"OpenStack-API-Version": "placement 1.39"}
AGGREGATE = "5f6c2b6e-6a53-4d4e-9d57-2e3b3c1f0a11"
REQUESTS = 100
WANTED = "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10"
PHASES = ("candidates", "claims", "deletes", "boots", "inprocess")
#: Why placement refused claims (409 details), reported after the figures.
REFUSALS: Counter[str] = Counter()


async def populate(database_url: str, count: int) -> None:
    """`count` compute-node-like providers, in a few bulk statements."""
    db = Database(database_url)
    now = utcnow()
    async with db.transaction() as session:
        classes = dict((await session.execute(select(ResourceClass.name, ResourceClass.id))).all())
        avx2 = await session.scalar(select(Trait.id).where(Trait.name == "HW_CPU_X86_AVX2"))
        rows = [
            {"uuid": str(uuid.uuid4()), "name": f"bench-cn{i:05}", "generation": 1}
            for i in range(count)
        ]
        await session.execute(
            insert(ResourceProvider), [{**r, "created_at": now, "updated_at": now} for r in rows]
        )
        await session.execute(
            update(ResourceProvider)
            .where(ResourceProvider.root_provider_id.is_(None))
            .values(root_provider_id=ResourceProvider.id)
        )
        # `nimbus up` may have registered a compute node of its own: only ours.
        ids = list(
            (
                await session.scalars(
                    select(ResourceProvider.id).where(ResourceProvider.name.like("bench-cn%"))
                )
            ).all()
        )
        inventory = []
        for rp in ids:
            for name, total, ratio in (("VCPU", 64, 16.0), ("MEMORY_MB", 262144, 1.5)):
                inventory.append((rp, classes[name], total, ratio))
            inventory.append((rp, classes["DISK_GB"], 2000, 1.0))
        await session.execute(
            insert(Inventory),
            [
                {
                    "resource_provider_id": rp,
                    "resource_class_id": rc,
                    "total": total,
                    "reserved": 0,
                    "min_unit": 1,
                    "max_unit": total,
                    "step_size": 1,
                    "allocation_ratio": ratio,
                }
                for rp, rc, total, ratio in inventory
            ],
        )
        await session.execute(
            insert(ProviderTrait),
            [{"resource_provider_id": rp, "trait_id": avx2} for rp in ids[::10]],
        )
        await session.execute(
            insert(ProviderAggregate),
            [{"resource_provider_id": rp, "aggregate_uuid": AGGREGATE} for rp in ids[::2]],
        )
    await db.close()


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms"


class ServerCpu:
    """CPU seconds the server process used (all its threads), from /proc on Linux."""

    def __init__(self, pid: int) -> None:
        self.path = Path(f"/proc/{pid}/stat")
        self.ticks = os.sysconf("SC_CLK_TCK") if self.path.exists() else 0

    def __call__(self) -> float:
        if not self.ticks:
            return 0.0
        fields = self.path.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime

    def per(self, since: float, count: int) -> str:
        """ ", x ms server CPU each" for `count` requests since the reading `since`."""
        if not self.ticks or not count:
            return ""
        return f", {(self() - since) * 1000 / count:.1f} ms server CPU each"


def timed(call: Callable[[], httpx.Response], count: int) -> tuple[list[float], httpx.Response]:
    samples, response = [], None
    for _ in range(count):
        began = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text
    assert response is not None
    return samples, response


def candidates(
    client: httpx.Client, cpu: ServerCpu, label: str, params: str, count: int = REQUESTS
) -> None:
    """Time GET /allocation_candidates?`params`."""
    timed(lambda: client.get(f"/allocation_candidates?{params}"), 5)
    before = cpu()
    samples, response = timed(lambda: client.get(f"/allocation_candidates?{params}"), count)
    found = response.json()["allocation_requests"]
    print(
        f"GET /allocation_candidates {label}, {count} requests: {percentiles(samples)} "
        f"({len(found)} candidates{cpu.per(before, count)})"
    )


def _claim_body(target: str) -> dict:
    return {
        "allocations": {target: {"resources": {"VCPU": 1, "MEMORY_MB": 512}}},
        "project_id": "bench",
        "user_id": "bench",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }


async def _concurrently(
    base: str, token: str, clients: int, total: int, work: Callable
) -> tuple[float, int]:
    """`total` calls of `work(client)` from `clients` concurrent clients; (per second,
    refused), where `work` answers whether placement refused (409)."""
    headers = {**VERSION, "X-Auth-Token": token}
    refused = 0
    # Idle connections are dropped here before uvicorn's 5 s keep-alive timeout: with
    # both at 5 s (httpx's default), a loaded machine sees requests written onto
    # connections the server is closing (reset, httpx.ReadError).
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0
    )

    async def worker(client: httpx.AsyncClient, share: int) -> None:
        nonlocal refused
        for _ in range(share):
            refused += bool(await work(client))

    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=60, limits=limits
    ) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client, total // clients) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    return (total // clients * clients) / elapsed, refused


async def claims(
    base: str, token: str, targets: list[str], total: int, clients: int, made: list[str]
) -> tuple[float, int]:
    """`total` claims from `clients` concurrent clients; the consumers go to `made`."""

    async def claim(client: httpx.AsyncClient) -> bool:
        consumer = str(uuid.uuid4())
        response = await client.put(
            f"/allocations/{consumer}", json=_claim_body(random.choice(targets))
        )
        if response.status_code == 204:
            made.append(consumer)
            return False
        assert response.status_code == 409, response.text
        REFUSALS[response.json()["errors"][0]["detail"]] += 1
        return True

    return await _concurrently(base, token, clients, total, claim)


async def deletes(base: str, token: str, consumers: list[str], clients: int) -> float:
    """DELETE every consumer's allocations from `clients` concurrent clients."""
    pending = list(consumers)

    async def remove(client: httpx.AsyncClient) -> bool:
        response = await client.delete(f"/allocations/{pending.pop()}")
        assert response.status_code == 204, response.text
        return False

    total = len(pending) - len(pending) % clients
    rate, _ = await _concurrently(base, token, clients, total, remove)
    return rate


async def boots(
    base: str, token: str, total: int, clients: int, made: list[str]
) -> tuple[float, int]:
    """A scheduler's share of a boot: candidates (limit=50), then claim one of them."""

    async def boot(client: httpx.AsyncClient) -> bool:
        found = await client.get(f"/allocation_candidates?{WANTED}&limit=50")
        assert found.status_code == 200, found.text
        offers = found.json()["allocation_requests"]
        consumer = str(uuid.uuid4())
        for offer in random.sample(offers, min(3, len(offers))):  # nova tries alternates
            target = next(iter(offer["allocations"]))
            response = await client.put(f"/allocations/{consumer}", json=_claim_body(target))
            if response.status_code == 204:
                made.append(consumer)
                return False
            assert response.status_code == 409, response.text
            REFUSALS[response.json()["errors"][0]["detail"]] += 1
        return True

    return await _concurrently(base, token, clients, total, boot)


async def in_process(database_url: str, total: int, clients: int) -> None:
    """What boots cost as the scheduler runs them: placement's functions in this
    process (no HTTP, no token), `clients` coroutines at once; searches alone, claims
    alone, releases alone, then search + claim together."""
    from nimbus.placement import allocations
    from nimbus.placement import candidates as search

    db = Database(database_url)
    wanted = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 10}
    request = search.Request([search.Group(resources=wanted)], limit=50)
    spread = search.Request([search.Group(resources=wanted)], limit=1000)
    targets = [next(iter(c.allocations)) for c in (await search.search(db, spread)).candidates]
    uuids = (await search.search(db, spread)).uuids
    made: list[str] = []
    latencies: list[float] = []

    async def claim_on(consumer: str, provider_uuid: str) -> bool:
        claim = allocations.Claim(consumer, {provider_uuid: wanted}, "bench", "bench")
        try:
            await allocations.replace(db, [claim])
        except Conflict:
            return False
        made.append(consumer)
        return True

    async def searching() -> None:
        await search.search(db, request)

    async def claiming() -> None:
        await claim_on(str(uuid.uuid4()), uuids[random.choice(targets)])

    async def releasing() -> None:
        await allocations.delete_consumer(db, made.pop())

    async def booting() -> None:
        found = await search.search(db, request)
        consumer = str(uuid.uuid4())
        for candidate in random.sample(found.candidates, min(3, len(found.candidates))):
            if await claim_on(consumer, found.uuids[next(iter(candidate.allocations))]):
                break

    async def phase(label: str, one: Callable, count: int) -> None:
        latencies.clear()

        async def worker() -> None:
            for _ in range(count // clients):
                began = time.perf_counter()
                await one()
                latencies.append(time.perf_counter() - began)

        times, began = os.times(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed, after = time.perf_counter() - began, os.times()
        user, system = after.user - times.user, after.system - times.system
        done = count // clients * clients
        print(
            f"in-process {label}, {clients} concurrent: {done / elapsed:.0f}/s, "
            f"{(user + system) * 1000 / done:.2f} ms CPU each ({system / (user + system):.0%} "
            f"in the kernel), latency {percentiles(latencies)}"
        )

    await phase("candidates (limit=50)", searching, total)
    await phase("claims", claiming, total)
    await phase("releases", releasing, len(made))
    await phase("candidates (limit=50) + claim", booting, total)
    await phase("releases", releasing, len(made))
    await db.close()


def run(only: set[str], base: str, token: str, cpu: ServerCpu, database_url: str) -> None:
    with httpx.Client(base_url=base, headers={**VERSION, "X-Auth-Token": token}) as client:
        found = client.get(f"/allocation_candidates?{WANTED}&limit=1000").json()
        targets = [next(iter(r["allocations"])) for r in found["allocation_requests"]]
        if "candidates" in only:
            candidates(client, cpu, "(limit=1000)", f"{WANTED}&limit=1000")
            candidates(client, cpu, "(limit=50)", f"{WANTED}&limit=50")
            trait_and_aggregate = f"{WANTED}&required=HW_CPU_X86_AVX2&member_of={AGGREGATE}"
            candidates(
                client,
                cpu,
                "(required trait + member_of, limit=1000)",
                f"{trait_and_aggregate}&limit=1000",
            )
            candidates(
                client,
                cpu,
                "(required trait + member_of, limit=50)",
                f"{trait_and_aggregate}&limit=50",
            )
            candidates(client, cpu, "(no limit)", WANTED, count=20)
    made: list[str] = []
    if "claims" in only or "deletes" in only:
        for clients, total, spread in ((16, 800, targets), (32, 1600, targets), (16, 320, None)):
            before, count = cpu(), len(made)
            rate, refused = asyncio.run(
                claims(base, token, spread or targets[-1:], total, clients, made)
            )
            where = f"spread over {len(targets)} providers" if spread else "all on one provider"
            print(
                f"claims {where}, {clients} concurrent clients: {rate:.0f} claims/s "
                f"({refused} refused{cpu.per(before, len(made) - count + refused)})"
            )
    if "deletes" in only:
        before, count = cpu(), len(made) - len(made) % 32
        rate = asyncio.run(deletes(base, token, made, 32))
        print(
            f"DELETE /allocations/{{consumer}}, 32 concurrent clients: {rate:.0f}/s"
            f"{cpu.per(before, count)}"
        )
    if "boots" in only:
        made = []
        before = cpu()
        rate, refused = asyncio.run(boots(base, token, 1600, 32, made))
        print(
            f"candidates (limit=50) + claim, 32 concurrent clients: {rate:.0f}/s "
            f"({refused} found no room{cpu.per(before, 1600)})"
        )
        before, count = cpu(), len(made) - len(made) % 32
        rate = asyncio.run(deletes(base, token, made, 32))
        print(
            f"then DELETE of those allocations, 32 concurrent clients: {rate:.0f}/s"
            f"{cpu.per(before, count)}"
        )
    if "inprocess" in only:
        asyncio.run(in_process(database_url, 1600, 32))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", type=int, default=10_000)
    parser.add_argument("--only", default=",".join(PHASES), help=",".join(PHASES))
    options = parser.parse_args()
    options.only = set(options.only.split(","))
    if unknown := options.only - set(PHASES):
        parser.error(f"unknown phases {sorted(unknown)}")
    workdir = Path(tempfile.mkdtemp(prefix="nimbus-bench-placement-"))
    running = start(["up", "--data-dir", str(workdir), "--driver", "fake"], offset=free_offset())
    try:
        began = time.perf_counter()
        database_url = f"sqlite:///{workdir / 'nimbus.db'}"
        asyncio.run(populate(database_url, options.providers))
        print(
            f"{options.providers} providers with 3 inventories each, bulk-inserted in "
            f"{time.perf_counter() - began:.1f} s (server pid {running.process.pid})"
        )
        env = rc_environment(workdir / "adminrc")
        with httpx.Client(base_url=running.url("identity")) as identity:
            issued = identity.post("/v3/auth/tokens", json=password_auth(env))
            token = issued.headers["x-subject-token"]
        base = running.url("placement")
        try:
            run(options.only, base, token, ServerCpu(running.process.pid), database_url)
        except BaseException:
            running.stop()
            assert running.process.stdout is not None
            print("server output:", running.process.stdout.read()[:5000], sep="\n")  # the start
            raise
        for detail, count in REFUSALS.most_common():
            print(f"refused {count} times: {detail}")
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
