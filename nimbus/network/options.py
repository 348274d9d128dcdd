"""Tunables of the network service (ML2's type drivers and Neutron's defaults).

Tenant networks are VXLAN, with VNIs allocated from `vni_ranges`; an admin may ask
for flat or VLAN networks on a configured physical network (VLAN ids from
`vlan_ranges`). The MTU is the physical one minus the encapsulation's overhead, as
ML2 computes it (1450 for VXLAN over a 1500 underlay).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ML2's [ml2] type_drivers that we serve; "local" was removed upstream (2023.2).
NETWORK_TYPES = ("flat", "vlan", "vxlan")
#: What VXLAN's outer headers take from the physical MTU (IPv4: 20 + 8 + 8 + 14).
VXLAN_OVERHEAD = 50


@dataclass(frozen=True)
class NetworkOptions:
    #: The first three octets of every generated MAC (Neutron's base_mac fa:16:3e:00:00:00).
    mac_base: str = "fa:16:3e"
    #: [ml2_type_vxlan] vni_ranges, inclusive.
    vni_ranges: tuple[tuple[int, int], ...] = ((1, 1000),)
    #: [ml2_type_vlan] network_vlan_ranges: physical network -> inclusive id ranges.
    vlan_ranges: dict[str, tuple[tuple[int, int], ...]] = field(
        default_factory=lambda: {"physnet1": ((1000, 1999),)}
    )
    #: [ml2_type_flat] flat_networks; "public" carries `nimbus up`'s external network.
    flat_networks: tuple[str, ...] = ("public", "physnet1")
    #: [DEFAULT] global_physnet_mtu.
    physical_mtu: int = 1500
    #: The type of a network created without provider attributes.
    tenant_network_type: str = "vxlan"
    #: Neutron's [quotas] defaults; -1 is unlimited.
    default_quotas: dict[str, int] = field(
        default_factory=lambda: {
            "network": 100,
            "subnet": 100,
            "port": 500,
            "router": 10,
            "floatingip": 50,
            "security_group": 10,
            "security_group_rule": 100,
        }
    )

    def mtu(self, network_type: str) -> int:
        if network_type == "vxlan":
            return self.physical_mtu - VXLAN_OVERHEAD
        return self.physical_mtu
