"""Request bodies of the Network API: exact types, unknown attributes refused (400).

Attribute names with a colon (``router:external``, ``provider:network_type``,
``binding:host_id``) are aliases; handlers read bodies back by their API names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nimbus.api.common.body import Strict

Name = str
VnicType = Literal[
    "normal",
    "direct",
    "macvtap",
    "baremetal",
    "direct-physical",
    "virtio-forwarder",
    "smart-nic",
    "remote-managed",
    "vdpa",
]


class Owned(Strict):
    """What every created resource may carry: its owner (under either name), tags."""

    project_id: str | None = None
    tenant_id: str | None = None
    tags: list[str] = []


class NetworkFields(Strict):
    name: Name = ""
    description: str = ""
    admin_state_up: bool = True
    shared: bool = False
    router_external: bool = Field(False, alias="router:external")
    network_type: str | None = Field(None, alias="provider:network_type")
    physical_network: str | None = Field(None, alias="provider:physical_network")
    segmentation_id: int | None = Field(None, alias="provider:segmentation_id")
    #: Unset on create: the largest the network's type allows (1450 for VXLAN).
    mtu: int | None = None
    port_security_enabled: bool = True


class NetworkCreate(NetworkFields, Owned):
    availability_zone_hints: list[str] = []


class NetworkUpdate(NetworkFields):
    mtu: int = 1500


class Pool(Strict):
    start: str
    end: str


class Route(Strict):
    destination: str
    nexthop: str


class SubnetCreate(Owned):
    network_id: str
    ip_version: Literal[4, 6]
    cidr: str | None = None
    subnetpool_id: str | None = None
    prefixlen: int | None = None
    use_default_subnet_pool: bool = False
    name: Name = ""
    description: str = ""
    gateway_ip: str | None = None
    allocation_pools: list[Pool] | None = None
    dns_nameservers: list[str] | None = None
    host_routes: list[Route] | None = None
    enable_dhcp: bool = True
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    segment_id: None = None
    service_types: list[str] = Field([], max_length=0)


class SubnetUpdate(Strict):
    name: Name = ""
    description: str = ""
    gateway_ip: str | None = None
    allocation_pools: list[Pool] | None = None
    dns_nameservers: list[str] | None = None
    host_routes: list[Route] | None = None
    enable_dhcp: bool = True
    service_types: list[str] = Field([], max_length=0)


class FixedIp(Strict):
    subnet_id: str | None = None
    ip_address: str | None = None


class AddressPair(Strict):
    ip_address: str
    mac_address: str | None = None


class PortFields(Strict):
    name: Name = ""
    description: str = ""
    admin_state_up: bool = True
    mac_address: str | None = None
    fixed_ips: list[FixedIp] | None = None
    device_id: str = ""
    device_owner: str = ""
    host_id: str = Field("", alias="binding:host_id")
    vnic_type: VnicType = Field("normal", alias="binding:vnic_type")
    profile: dict[str, object] | None = Field(None, alias="binding:profile")
    allowed_address_pairs: list[AddressPair] | None = None
    port_security_enabled: bool | None = None
    security_groups: list[str] | None = None


class PortCreate(PortFields, Owned):
    network_id: str


class PortUpdate(PortFields):
    pass


class GatewayInfo(Strict):
    network_id: str | None = None
    enable_snat: bool = True
    external_fixed_ips: list[FixedIp] | None = None


class RouterFields(Strict):
    name: Name = ""
    description: str = ""
    admin_state_up: bool = True
    external_gateway_info: GatewayInfo | None = None
    distributed: Literal[False] = False
    ha: Literal[False] = False


class RouterCreate(RouterFields, Owned):
    availability_zone_hints: list[str] = []


class RouterUpdate(RouterFields):
    routes: list[Route] | None = None


class RouterInterface(Strict):
    subnet_id: str | None = None
    port_id: str | None = None


class FloatingIpCreate(Owned):
    floating_network_id: str
    floating_ip_address: str | None = None
    subnet_id: str | None = None
    port_id: str | None = None
    fixed_ip_address: str | None = None
    description: str = ""


class FloatingIpUpdate(Strict):
    port_id: str | None = None
    fixed_ip_address: str | None = None
    description: str = ""


class SecurityGroupFields(Strict):
    name: Name = ""
    description: str = ""
    stateful: bool = True


class SecurityGroupCreate(SecurityGroupFields, Owned):
    pass


class SecurityGroupUpdate(SecurityGroupFields):
    pass


class SecurityGroupRuleCreate(Strict):
    security_group_id: str
    direction: Literal["ingress", "egress"]
    ethertype: str = "IPv4"
    protocol: str | int | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    remote_address_group_id: None = None
    description: str = ""
    project_id: str | None = None
    tenant_id: str | None = None


class QuotaUpdate(Strict):
    network: int | None = None
    subnet: int | None = None
    port: int | None = None
    router: int | None = None
    floatingip: int | None = None
    security_group: int | None = None
    security_group_rule: int | None = None


class SubnetPoolCreate(Owned):
    name: Name = ""
    description: str = ""
    prefixes: list[str]
    default_prefixlen: int | None = None
    min_prefixlen: int | None = None
    max_prefixlen: int | None = None
    shared: bool = False
    is_default: bool = False
    default_quota: int | None = None
    address_scope_id: None = None


class SubnetPoolUpdate(Strict):
    name: Name = ""
    description: str = ""
    prefixes: list[str] = []
    default_prefixlen: int | None = None
    min_prefixlen: int | None = None
    max_prefixlen: int | None = None
    is_default: bool = False
    default_quota: int | None = None
    address_scope_id: None = None


class Tags(Strict):
    tags: list[str]
