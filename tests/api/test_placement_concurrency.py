"""Concurrent writers against one provider: no oversubscription, no lost updates.

Requests are fired together with asyncio.gather through the ASGI app, so they
interleave at every database round trip, as concurrent API workers would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.api.conftest import Cloud

LATEST = {"OpenStack-API-Version": "placement latest"}


async def _client(cloud: Cloud) -> httpx.AsyncClient:
    client = cloud.client("placement")
    client.headers.update({"X-Auth-Token": await cloud.admin_token(), **LATEST})
    return client


async def _provider(client: httpx.AsyncClient, name: str, inventories: dict[str, Any]) -> str:
    created = await client.post("/resource_providers", json={"name": name})
    rp = created.json()["uuid"]
    body = {"resource_provider_generation": 0, "inventories": inventories}
    response = await client.put(f"/resource_providers/{rp}/inventories", json=body)
    assert response.status_code == 200, response.text
    return rp


def _claim(rp: str, amounts: dict[str, int], generation: int | None = None) -> dict[str, Any]:
    return {
        "allocations": {rp: {"resources": amounts}},
        "project_id": "project",
        "user_id": "user",
        "consumer_generation": generation,
        "consumer_type": "INSTANCE",
    }


async def test_concurrent_claims_never_oversubscribe(cloud: Cloud) -> None:
    async with await _client(cloud) as client:
        rp = await _provider(client, "race-cn", {"VCPU": {"total": 5, "allocation_ratio": 2.0}})
        claims = [
            client.put(f"/allocations/{uuid.uuid4()}", json=_claim(rp, {"VCPU": 1}))
            for _ in range(30)
        ]
        statuses = Counter(r.status_code for r in await asyncio.gather(*claims))
        usages = (await client.get(f"/resource_providers/{rp}/usages")).json()
        provider = (await client.get(f"/resource_providers/{rp}")).json()
    assert statuses == {204: 10, 409: 20}
    assert usages["usages"] == {"VCPU": 10}
    # One bump for the inventory, one per successful claim, none for a refused one.
    assert provider["generation"] == 11


async def test_concurrent_claims_on_several_providers_all_fit(cloud: Cloud) -> None:
    async with await _client(cloud) as client:
        rps = [await _provider(client, f"spread-{i}", {"VCPU": {"total": 4}}) for i in range(3)]
        claims = [
            client.put(f"/allocations/{uuid.uuid4()}", json=_claim(rps[i % 3], {"VCPU": 1}))
            for i in range(12)
        ]
        statuses = Counter(r.status_code for r in await asyncio.gather(*claims))
        candidates = await client.get("/allocation_candidates?resources=VCPU:1")
    assert statuses == {204: 12}
    summaries = candidates.json()["provider_summaries"]
    assert all(uuid not in summaries for uuid in rps)


GENERATION_GUARDED = {
    "inventories": [{"inventories": {"VCPU": {"total": n}}} for n in range(2, 12)],
    "traits": [{"traits": [t]} for t in ("HW_CPU_X86_AVX", "HW_CPU_X86_SSE", "COMPUTE_NODE")],
    "aggregates": [{"aggregates": [str(uuid.uuid4())]} for _ in range(5)],
}


@pytest.mark.parametrize("resource", sorted(GENERATION_GUARDED))
async def test_of_writers_sending_one_generation_only_one_wins(cloud: Cloud, resource: str) -> None:
    async with await _client(cloud) as client:
        rp = await _provider(client, f"{resource}-race", {"VCPU": {"total": 1}})
        writes = [
            client.put(
                f"/resource_providers/{rp}/{resource}",
                json={"resource_provider_generation": 1, **body},
            )
            for body in GENERATION_GUARDED[resource]
        ]
        responses = await asyncio.gather(*writes)
    assert Counter(r.status_code for r in responses) == {200: 1, 409: len(writes) - 1}
    refused = {r.json()["errors"][0]["code"] for r in responses if r.status_code == 409}
    assert refused == {"placement.concurrent_update"}


async def test_a_consumer_written_twice_with_one_generation_changes_once(cloud: Cloud) -> None:
    async with await _client(cloud) as client:
        rp = await _provider(client, "consumer-race", {"VCPU": {"total": 8}})
        consumer = str(uuid.uuid4())
        first = await client.put(f"/allocations/{consumer}", json=_claim(rp, {"VCPU": 1}))
        assert first.status_code == 204
        writes = [
            client.put(f"/allocations/{consumer}", json=_claim(rp, {"VCPU": n}, generation=1))
            for n in (2, 3, 4, 5)
        ]
        responses = await asyncio.gather(*writes)
        held = (await client.get(f"/allocations/{consumer}")).json()
    assert Counter(r.status_code for r in responses) == {204: 1, 409: 3}
    assert {r.json()["errors"][0]["code"] for r in responses if r.status_code == 409} == {
        "placement.concurrent_update"
    }
    assert held["consumer_generation"] == 2
