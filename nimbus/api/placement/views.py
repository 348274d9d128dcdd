"""Placement resources rendered as upstream shows them at each microversion.

Links are relative to the service root (upstream builds them from SCRIPT_NAME only,
so that placement never needs to know the address clients reach it by).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from nimbus.api.common.microversion import Version
from nimbus.placement.candidates import Result
from nimbus.placement.inventories import Amounts
from nimbus.placement.providers import Provider


def provider_url(uuid: str) -> str:
    return f"/resource_providers/{uuid}"


def resource_class_url(name: str) -> str:
    return f"/resource_classes/{name}"


def _provider_links(uuid: str, version: Version) -> list[dict[str, str]]:
    url = provider_url(uuid)
    relations = ["inventories", "usages"]
    if version >= (1, 1):
        relations.append("aggregates")
    if version >= (1, 6):
        relations.append("traits")
    if version >= (1, 11):
        relations.append("allocations")
    return [{"rel": "self", "href": url}] + [
        {"rel": rel, "href": f"{url}/{rel}"} for rel in relations
    ]


def provider(row: Provider, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": row.uuid,
        "name": row.name,
        "generation": row.generation,
        "links": _provider_links(row.uuid, version),
    }
    if version >= (1, 14):
        body["parent_provider_uuid"] = row.parent_uuid
        body["root_provider_uuid"] = row.root_uuid
    return body


def inventory(amounts: Amounts) -> dict[str, Any]:
    """total, reserved, min_unit, max_unit, step_size, allocation_ratio."""
    return asdict(amounts)


def inventories(generation: int, records: dict[str, Amounts]) -> dict[str, Any]:
    return {
        "resource_provider_generation": generation,
        "inventories": {name: inventory(amounts) for name, amounts in records.items()},
    }


def resource_class(name: str) -> dict[str, Any]:
    return {"name": name, "links": [{"rel": "self", "href": resource_class_url(name)}]}


def _allocation_requests(result: Result, version: Version) -> list[dict[str, Any]]:
    names, uuids = result.class_names, result.uuids
    if version < (1, 12):
        return [
            {
                "allocations": [
                    {
                        "resource_provider": {"uuid": uuids[p]},
                        "resources": {names[c]: amount for c, amount in amounts.items()},
                    }
                    for p, amounts in candidate.allocations.items()
                ]
            }
            for candidate in result.candidates
        ]
    rendered = []
    with_mappings = version >= (1, 34)
    for candidate in result.candidates:
        request: dict[str, Any] = {
            "allocations": {
                uuids[p]: {"resources": {names[c]: amount for c, amount in amounts.items()}}
                for p, amounts in candidate.allocations.items()
            }
        }
        if with_mappings:
            request["mappings"] = {
                suffix: [uuids[p] for p in chosen] for suffix, chosen in candidate.mappings.items()
            }
        rendered.append(request)
    return rendered


def candidates(result: Result, version: Version) -> dict[str, Any]:
    """GET /allocation_candidates: requests plus provider summaries.

    Summaries carry traits from 1.17, every class (not just the requested ones) from
    1.27, and the provider's place in its tree from 1.29.
    """
    every_class, with_traits, in_tree = version >= (1, 27), version >= (1, 17), version >= (1, 29)
    summaries = {}
    for summary in result.summaries:
        resources = {
            name: {"capacity": capacity, "used": used}
            for name, (capacity, used) in summary.resources.items()
            if every_class or name in result.requested_classes
        }
        body: dict[str, Any] = {"resources": resources}
        if with_traits:
            body["traits"] = summary.traits
        if in_tree:
            body["parent_provider_uuid"] = summary.parent_uuid
            body["root_provider_uuid"] = summary.root_uuid
        summaries[summary.uuid] = body
    return {
        "allocation_requests": _allocation_requests(result, version),
        "provider_summaries": summaries,
    }
