"""Host weighers, by Nova's names: each scores hosts; the scores are normalised to
0…1 across the candidates, multiplied and summed, and the highest total wins.

Spreading (Nova's default) prefers the host with most free RAM/CPU/disk; the "pack"
strategy flips the sign of those multipliers to fill hosts one after another.
"""

from __future__ import annotations

from collections.abc import Callable

from nimbus.services.scheduler.host_state import Context, HostState

Weigher = Callable[[HostState, Context], float]


def ram_weigher(host: HostState, ctx: Context) -> float:
    return host.free_ram_mb


def cpu_weigher(host: HostState, ctx: Context) -> float:
    return host.free_vcpus


def disk_weigher(host: HostState, ctx: Context) -> float:
    return host.free_disk_gb


def _group_members_on(host: HostState, ctx: Context, policy: str) -> float:
    group = ctx.spec.get("group")
    if not group or group["policy"] != policy:
        return 0.0
    return float(ctx.group_hosts.count(host.host))


def soft_affinity_weigher(host: HostState, ctx: Context) -> float:
    return _group_members_on(host, ctx, "soft-affinity")


def soft_anti_affinity_weigher(host: HostState, ctx: Context) -> float:
    return -_group_members_on(host, ctx, "soft-anti-affinity")


WEIGHERS: dict[str, Weigher] = {
    "RAMWeigher": ram_weigher,
    "CPUWeigher": cpu_weigher,
    "DiskWeigher": disk_weigher,
    "ServerGroupSoftAffinityWeigher": soft_affinity_weigher,
    "ServerGroupSoftAntiAffinityWeigher": soft_anti_affinity_weigher,
}
#: The weighers whose sign the "pack" strategy flips.
_RESOURCE_WEIGHERS = frozenset({"RAMWeigher", "CPUWeigher", "DiskWeigher"})


def by_names(names: tuple[str, ...], strategy: str) -> list[tuple[Weigher, float]]:
    """The weighers named in the options with their multipliers."""
    unknown = [name for name in names if name not in WEIGHERS]
    if unknown:
        raise ValueError(f"unknown scheduler weighers {unknown}: known are {sorted(WEIGHERS)}")
    if strategy not in ("spread", "pack"):
        raise ValueError(f"scheduler strategy must be spread or pack, not {strategy!r}")
    sign = -1.0 if strategy == "pack" else 1.0
    return [(WEIGHERS[name], sign if name in _RESOURCE_WEIGHERS else 1.0) for name in names]


def _normalised(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def weigh(
    hosts: list[HostState], ctx: Context, weighers: list[tuple[Weigher, float]]
) -> list[HostState]:
    """`hosts`, best first."""
    if len(hosts) < 2:
        return list(hosts)
    totals = [0.0] * len(hosts)
    for weigher, multiplier in weighers:
        for i, score in enumerate(_normalised([weigher(h, ctx) for h in hosts])):
            totals[i] += multiplier * score
    order = sorted(range(len(hosts)), key=lambda i: totals[i], reverse=True)
    return [hosts[i] for i in order]
