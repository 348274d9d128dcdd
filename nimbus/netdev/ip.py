"""A thin asynchronous wrapper over iproute2 (`ip -json …`): links, addresses, routes and
named network namespaces, in the host's namespace or a named one."""

from __future__ import annotations

import json
from typing import Any

from nimbus.netdev.commands import NetdevError, run


async def ip(*args: str, netns: str | None = None) -> str:
    """Run `ip ARGS` (with `-n NETNS` when given)."""
    prefix = ("ip", "-n", netns) if netns else ("ip",)
    return await run(*prefix, *args)


async def ip_json(*args: str, netns: str | None = None) -> list[dict[str, Any]]:
    """Run `ip -json ARGS`; the decoded list (empty when ip prints nothing)."""
    text = await ip("-json", *args, netns=netns)
    return json.loads(text) if text.strip() else []


async def links(netns: str | None = None) -> dict[str, dict[str, Any]]:
    """Every link by name, with details (kind, master, VXLAN id…)."""
    return {link["ifname"]: link for link in await ip_json("-details", "link", "show", netns=netns)}


def kind(link: dict[str, Any]) -> str | None:
    """The link's driver kind (`bridge`, `vxlan`, `veth`, `tun`…), None for plain devices."""
    return link.get("linkinfo", {}).get("info_kind")


async def delete_link(name: str, netns: str | None = None) -> None:
    """Delete a link; one already gone (a veth whose peer went first) is not an error."""
    try:
        await ip("link", "del", name, netns=netns)
    except NetdevError as error:
        if "Cannot find device" not in str(error):
            raise


async def set_link(name: str, *settings: str, netns: str | None = None) -> None:
    """`ip link set NAME SETTINGS…` (master, mtu, address, up)."""
    await ip("link", "set", name, *settings, netns=netns)


async def namespaces() -> set[str]:
    """The names of the named network namespaces (/run/netns)."""
    return {entry["name"] for entry in await ip_json("netns", "list")}


async def ensure_namespace(name: str) -> None:
    """Create namespace `name` with its loopback up, unless it exists."""
    if name not in await namespaces():
        await ip("netns", "add", name)
    await set_link("lo", "up", netns=name)


async def delete_namespace(name: str) -> None:
    """Delete a named namespace; its interfaces (and their veth peers) go with it."""
    await ip("netns", "del", name)


async def global_addresses(device: str, netns: str | None = None) -> set[str]:
    """The device's addresses of global scope as `ADDR/PREFIXLEN`."""
    shown = await ip_json("addr", "show", "dev", device, netns=netns)
    return {
        f"{entry['local']}/{entry['prefixlen']}"
        for link in shown
        for entry in link.get("addr_info", [])
        if entry.get("scope") == "global"
    }


async def converge_addresses(device: str, wanted: set[str], netns: str | None = None) -> None:
    """Make the device's global addresses exactly `wanted` (ADDR/PREFIXLEN strings)."""
    present = await global_addresses(device, netns)
    for address in sorted(present - wanted):
        await ip("addr", "del", address, "dev", device, netns=netns)
    for address in sorted(wanted - present):
        await ip("addr", "add", address, "dev", device, netns=netns)


async def sysctl(netns: str, key: str, value: str) -> None:
    """Set a sysctl inside a namespace (forwarding, route_localnet)."""
    await run("sysctl", "-qw", f"{key}={value}", netns=netns)
