"""Placement figures: allocation candidates over 10,000 providers, and claim throughput.

Run: `.venv/bin/python bench/placement.py [--providers N]`. It starts a real `nimbus up`
on free ports, fills its SQLite database with N providers (bulk SQL through the
models, not N HTTP calls: three inventories each, a trait on every tenth, an
aggregate on every other), then times requests over HTTP from one keep-alive client:

- GET /allocation_candidates at 1.39, with nova's default limit (1000), with a
  required trait and an aggregate, and with no limit at all;
- claims (PUT /allocations/{consumer}) from 16 concurrent clients spread over the
  providers, then the same 16 clients all claiming on one provider (every claim
  races; losers retry inside placement).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
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
from tests.processes import free_offset, rc_environment, start

VERSION = {"OpenStack-API-Version": "placement 1.39"}
AGGREGATE = "5f6c2b6e-6a53-4d4e-9d57-2e3b3c1f0a11"
REQUESTS = 100
CLAIMERS = 16


async def populate(database_url: str, count: int) -> None:
    """`count` compute-node-like providers, in a few bulk statements."""
    db = Database(database_url)
    now = utcnow()
    async with db.transaction() as session:
        classes = dict((await session.execute(select(ResourceClass.name, ResourceClass.id))).all())
        avx2 = await session.scalar(select(Trait.id).where(Trait.name == "HW_CPU_X86_AVX2"))
        rows = [
            {"uuid": str(uuid.uuid4()), "name": f"cn{i:05}", "generation": 1} for i in range(count)
        ]
        await session.execute(
            insert(ResourceProvider), [{**r, "created_at": now, "updated_at": now} for r in rows]
        )
        await session.execute(
            update(ResourceProvider)
            .where(ResourceProvider.root_provider_id.is_(None))
            .values(root_provider_id=ResourceProvider.id)
        )
        ids = list((await session.scalars(select(ResourceProvider.id))).all())
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


def timed(call: Callable[[], httpx.Response], count: int) -> tuple[list[float], httpx.Response]:
    samples, response = [], None
    for _ in range(count):
        began = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text
    assert response is not None
    return samples, response


def candidates(client: httpx.Client, label: str, params: str, count: int = REQUESTS) -> list[str]:
    """Time GET /allocation_candidates?`params`; the providers of the last answer."""
    timed(lambda: client.get(f"/allocation_candidates?{params}"), 5)
    samples, response = timed(lambda: client.get(f"/allocation_candidates?{params}"), count)
    found = response.json()["allocation_requests"]
    print(
        f"GET /allocation_candidates {label}, {count} requests: {percentiles(samples)} "
        f"({len(found)} candidates)"
    )
    return [next(iter(r["allocations"])) for r in found]


async def claims(base: str, token: str, targets: list[str], total: int) -> tuple[float, int]:
    """`total` claims from CLAIMERS concurrent clients; (claims per second, refused)."""
    headers = {**VERSION, "X-Auth-Token": token}
    refused = 0

    async def claimer(client: httpx.AsyncClient, share: int) -> None:
        nonlocal refused
        for _ in range(share):
            body = {
                "allocations": {
                    random.choice(targets): {"resources": {"VCPU": 1, "MEMORY_MB": 512}}
                },
                "project_id": "bench",
                "user_id": "bench",
                "consumer_generation": None,
                "consumer_type": "INSTANCE",
            }
            response = await client.put(f"/allocations/{uuid.uuid4()}", json=body)
            if response.status_code != 204:
                assert response.status_code == 409, response.text
                refused += 1

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        began = time.perf_counter()
        await asyncio.gather(*(claimer(client, total // CLAIMERS) for _ in range(CLAIMERS)))
        elapsed = time.perf_counter() - began
    return (total // CLAIMERS * CLAIMERS) / elapsed, refused


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", type=int, default=10_000)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nimbus-bench-placement-"))
    running = start(["up", "--data-dir", str(workdir)], offset=free_offset())
    try:
        began = time.perf_counter()
        asyncio.run(populate(f"sqlite:///{workdir / 'nimbus.db'}", options.providers))
        print(
            f"{options.providers} providers with 3 inventories each, bulk-inserted in "
            f"{time.perf_counter() - began:.1f} s"
        )
        env = rc_environment(workdir / "adminrc")
        with httpx.Client(base_url=running.url("identity")) as identity:
            issued = identity.post("/v3/auth/tokens", json=password_auth(env))
            token = issued.headers["x-subject-token"]
        base = running.url("placement")
        with httpx.Client(base_url=base, headers={**VERSION, "X-Auth-Token": token}) as client:
            wanted = "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10"
            targets = candidates(client, "(limit=1000)", f"{wanted}&limit=1000")
            candidates(
                client,
                "(required trait + member_of, limit=1000)",
                f"{wanted}&required=HW_CPU_X86_AVX2&member_of={AGGREGATE}&limit=1000",
            )
            candidates(client, "(no limit)", wanted, count=20)
        rate, refused = asyncio.run(claims(base, token, targets, 800))
        print(
            f"claims spread over {len(targets)} providers, {CLAIMERS} concurrent clients: "
            f"{rate:.0f} claims/s ({refused} refused)"
        )
        rate, refused = asyncio.run(claims(base, token, targets[:1], 320))
        print(
            f"claims all on one provider, {CLAIMERS} concurrent clients: "
            f"{rate:.0f} claims/s ({refused} refused)"
        )
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
