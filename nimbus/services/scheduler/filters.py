"""Host filters, by Nova's names: each says whether a host may take one instance.

Placement has already checked that the flavor's resources fit; filters check what it
cannot know: the service is enabled and alive, the zone, aggregate metadata against
flavor extra specs, image requirements, server group policies, hints.
"""

from __future__ import annotations

from collections.abc import Callable

from nimbus.compute.request_spec import Spec
from nimbus.services.scheduler.host_state import Context, HostState

Filter = Callable[[HostState, Context], bool]

#: Extra-spec scopes AggregateInstanceExtraSpecsFilter reads (unscoped keys too).
_AGGREGATE_SCOPE = "aggregate_instance_extra_specs"


def compute_filter(host: HostState, ctx: Context) -> bool:
    """The host's compute service is enabled and up."""
    return host.enabled and host.up


def availability_zone_filter(host: HostState, ctx: Context) -> bool:
    zone = ctx.spec.get("availability_zone")
    return not zone or host.zone == zone


def _matches(requirement: str, values: set[str]) -> bool:
    """Nova's extra_specs_ops, the common forms: ``<in> x``, ``<or> a <or> b``,
    ``s== x``, and plain equality with any of the host's values."""
    words = requirement.split()
    if words and words[0] == "<in>":
        return any(" ".join(words[1:]) in value for value in values)
    if "<or>" in words:
        options = {w for w in words if w != "<or>"}
        return bool(options & values)
    if words and words[0] in ("s==", "="):
        return " ".join(words[1:]) in values
    return requirement in values


def aggregate_instance_extra_specs_filter(host: HostState, ctx: Context) -> bool:
    """Every aggregate-scoped (or unscoped) extra spec of the flavor is met by the
    metadata of the host's aggregates."""
    specs = (ctx.spec.get("flavor") or {}).get("extra_specs") or {}
    for key, requirement in specs.items():
        scope, _, name = key.partition(":")
        if name and scope != _AGGREGATE_SCOPE:
            continue
        wanted = name or scope
        values = host.metadata.get(wanted)
        if values is None or not _matches(str(requirement), values):
            return False
    return True


def image_properties_filter(host: HostState, ctx: Context) -> bool:
    """The image's architecture and hypervisor type, where it names them."""
    properties = (ctx.spec.get("image") or {}).get("properties") or {}
    arch = properties.get("hw_architecture") or properties.get("architecture")
    if arch and arch.lower() not in host.architectures:
        return False
    hv_type = properties.get("img_hv_type") or properties.get("hypervisor_type")
    return not hv_type or hv_type.lower() == host.hypervisor_type.lower()


def _group_policy(spec: Spec) -> str | None:
    group = spec.get("group")
    return group["policy"] if group else None


def server_group_affinity_filter(host: HostState, ctx: Context) -> bool:
    if _group_policy(ctx.spec) != "affinity" or not ctx.group_hosts:
        return True
    return host.host in ctx.group_hosts


def server_group_anti_affinity_filter(host: HostState, ctx: Context) -> bool:
    """No more than max_server_per_host (default 1) members of the group per host."""
    if _group_policy(ctx.spec) != "anti-affinity":
        return True
    group = ctx.spec.get("group") or {}
    limit = int((group.get("rules") or {}).get("max_server_per_host", 1))
    return ctx.group_hosts.count(host.host) < limit


def same_host_filter(host: HostState, ctx: Context) -> bool:
    if not (ctx.spec.get("scheduler_hints") or {}).get("same_host"):
        return True
    return host.host in ctx.same_hosts


def different_host_filter(host: HostState, ctx: Context) -> bool:
    return host.host not in ctx.different_hosts


def num_instances_filter(host: HostState, ctx: Context) -> bool:
    """Optional: at most 50 instances per host (max_instances_per_host)."""
    return host.instances < 50


FILTERS: dict[str, Filter] = {
    "ComputeFilter": compute_filter,
    "AvailabilityZoneFilter": availability_zone_filter,
    "AggregateInstanceExtraSpecsFilter": aggregate_instance_extra_specs_filter,
    "ImagePropertiesFilter": image_properties_filter,
    "ServerGroupAffinityFilter": server_group_affinity_filter,
    "ServerGroupAntiAffinityFilter": server_group_anti_affinity_filter,
    "SameHostFilter": same_host_filter,
    "DifferentHostFilter": different_host_filter,
    "NumInstancesFilter": num_instances_filter,
}


def by_names(names: tuple[str, ...]) -> list[tuple[str, Filter]]:
    """The filters named in the options, in that order; an unknown name is an error at
    start, not a silently ignored filter."""
    unknown = [name for name in names if name not in FILTERS]
    if unknown:
        raise ValueError(f"unknown scheduler filters {unknown}: known are {sorted(FILTERS)}")
    return [(name, FILTERS[name]) for name in names]
