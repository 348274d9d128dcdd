"""Nova's status mapping, and the scheduler's filters and weighers on their own."""

from __future__ import annotations

import pytest

from nimbus.compute import states
from nimbus.services.scheduler import filters, weighers
from nimbus.services.scheduler.host_state import Context, HostState


@pytest.mark.parametrize(
    ("vm_state", "task_state", "status"),
    [
        ("active", None, "ACTIVE"),
        ("active", "rebooting", "REBOOT"),
        ("active", "rebooting_hard", "HARD_REBOOT"),
        ("active", "resize_prep", "RESIZE"),
        ("active", "powering-off", "ACTIVE"),
        ("building", "scheduling", "BUILD"),
        ("stopped", None, "SHUTOFF"),
        ("stopped", "rebuilding", "REBUILD"),
        ("resized", None, "VERIFY_RESIZE"),
        ("resized", "resize_reverting", "REVERT_RESIZE"),
        ("error", None, "ERROR"),
        ("nonsense", None, "UNKNOWN"),
    ],
)
def test_status_is_novas(vm_state: str, task_state: str | None, status: str) -> None:
    assert states.status_of(vm_state, task_state) == status


def test_status_filter_narrows_by_task_only_when_asked() -> None:
    assert states.states_for_status(["ACTIVE"]) == ({"active"}, None)
    vm_states, task_states = states.states_for_status(["REBOOT"])
    assert vm_states == {"active"} and task_states == {
        "rebooting",
        "reboot_pending",
        "reboot_started",
    }
    assert states.states_for_status(["BOGUS"]) == (set(), set())


def _host(name: str, **fields: object) -> HostState:
    return HostState(host=name, node=name, node_uuid=name, allocations={}, **fields)  # type: ignore[arg-type]


def test_filters() -> None:
    spec = {"availability_zone": "az1", "flavor": {"extra_specs": {"ssd": "true"}}}
    ctx = Context(spec)  # type: ignore[arg-type]
    good = _host("a", metadata={"availability_zone": {"az1"}, "ssd": {"true"}})
    assert filters.availability_zone_filter(good, ctx)
    assert filters.aggregate_instance_extra_specs_filter(good, ctx)
    assert not filters.availability_zone_filter(_host("b"), ctx)
    assert not filters.aggregate_instance_extra_specs_filter(_host("b"), ctx)
    assert not filters.compute_filter(_host("c", up=False), ctx)
    assert not filters.compute_filter(_host("c", enabled=False), ctx)
    group = Context(
        {"group": {"uuid": "g", "policy": "anti-affinity", "rules": {}}},  # type: ignore[typeddict-item]
        group_hosts=["a"],
    )
    assert not filters.server_group_anti_affinity_filter(good, group)
    assert filters.server_group_anti_affinity_filter(_host("b"), group)
    image = Context({"image": {"properties": {"hypervisor_type": "qemu"}}})  # type: ignore[typeddict-item]
    assert not filters.image_properties_filter(_host("a"), image)
    with pytest.raises(ValueError, match="unknown scheduler filters"):
        filters.by_names(("NoSuchFilter",))


def test_spread_and_pack() -> None:
    hosts = [_host("full", free_ram_mb=100), _host("empty", free_ram_mb=1000)]
    ctx = Context({})  # type: ignore[typeddict-item]
    spread = weighers.by_names(("RAMWeigher",), "spread")
    pack = weighers.by_names(("RAMWeigher",), "pack")
    assert [h.host for h in weighers.weigh(hosts, ctx, spread)] == ["empty", "full"]
    assert [h.host for h in weighers.weigh(hosts, ctx, pack)] == ["full", "empty"]
