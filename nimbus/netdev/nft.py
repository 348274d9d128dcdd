"""Applying nftables rule sets: one `nft -f` transaction, all or nothing."""

from __future__ import annotations

import json
from typing import Any

from nimbus.netdev.commands import run


async def apply(script: str, netns: str | None = None) -> None:
    """Load `script` as one atomic transaction (inside `netns` when given)."""
    await run("nft", "-f", "-", stdin=script, netns=netns)


def replace_table(family: str, name: str, body: str | None) -> str:
    """Script lines that drop table `family name` (if present) and define it anew from
    `body`, or leave it absent when `body` is None; applied in one transaction, readers
    never see a half-built table."""
    lines = [f"table {family} {name} {{\n}}", f"delete table {family} {name}"]
    if body is not None:
        lines.append(f"table {family} {name} {{\n{body}\n}}")
    return "\n".join(lines) + "\n"


async def table(family: str, name: str, netns: str | None = None) -> list[dict[str, Any]]:
    """The JSON objects (chains, rules, sets) of one table; empty when it does not exist."""
    tables = json.loads(await run("nft", "-j", "list", "tables", family, netns=netns))
    if not any(item.get("table", {}).get("name") == name for item in tables["nftables"]):
        return []
    listed = json.loads(await run("nft", "-j", "list", "table", family, name, netns=netns))
    return listed["nftables"]
