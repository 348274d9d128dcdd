"""Kernel object names derived from resource ids.

Every object an agent creates in the host's namespace starts with its tag, followed by a
one-character kind and the resource id without dashes, cut to the 15 characters Linux
allows an interface name. The tag lets an agent (or a test) find and remove its own stale
objects and never touch anyone else's. Names inside a router or DHCP namespace need no
tag: the namespace is already ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IFNAMSIZ = 15
BRIDGE, VXLAN, VLAN, TAP, DHCP, ROUTER = "-", "x", "v", "t", "d", "r"


def _compact(resource_id: str) -> str:
    return resource_id.replace("-", "")


@dataclass(frozen=True)
class Names:
    """The naming scheme of one agent (tag `nb` by default; tests use a random one)."""

    tag: str = "nb"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]{0,4}", self.tag):
            raise ValueError(f"tag {self.tag!r}: 1-5 lower-case letters and digits")

    def link(self, kind: str, resource_id: str) -> str:
        """The host-side interface of `kind` for a resource."""
        return f"{self.tag}{kind}{_compact(resource_id)}"[:IFNAMSIZ]

    def owns(self, name: str, kind: str) -> bool:
        """Whether a host interface name is one of ours, of `kind`."""
        return name.startswith(self.tag + kind)

    def bridge(self, network_id: str) -> str:
        return self.link(BRIDGE, network_id)

    def tap(self, port_id: str) -> str:
        """The tap of an instance port, opened by QEMU with `-netdev tap,ifname=…`."""
        return self.link(TAP, port_id)

    def router_namespace(self, router_id: str) -> str:
        return f"{self.tag}router-{router_id}"

    def dhcp_namespace(self, network_id: str) -> str:
        return f"{self.tag}dhcp-{network_id}"

    def table(self, purpose: str) -> str:
        """An nftables table of this agent (`nb_sg`, `nb_router`…)."""
        return f"{self.tag}_{purpose}"


def inner(prefix: str, port_id: str) -> str:
    """A port's interface inside a namespace: `qr-…`, `qg-…`, `ns-…` as Neutron names them."""
    return f"{prefix}{port_id}"[:14]
