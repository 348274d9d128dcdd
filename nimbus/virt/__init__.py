"""Compute drivers: the hypervisor behind one narrow interface (driver.py); `fake`
keeps guests in memory so the control plane can be exercised at scale, `qemu` runs
real guests (one QEMU process each)."""

from __future__ import annotations

from typing import Any

from nimbus.virt.driver import Driver

#: Driver names accepted by `--driver`, and where each lives.
DRIVERS = {"fake": "nimbus.virt.fake:FakeDriver", "qemu": "nimbus.virt.qemu.driver:QemuDriver"}


def load(name: str, **options: Any) -> Driver:
    """A driver by name (`fake`, `qemu`); `options` go to its constructor."""
    import importlib

    try:
        module, _, attribute = DRIVERS[name].partition(":")
    except KeyError:
        raise ValueError(
            f"unknown compute driver {name!r}: choose from {sorted(DRIVERS)}"
        ) from None
    return getattr(importlib.import_module(module), attribute)(**options)
