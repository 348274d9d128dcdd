"""The desired state the data plane converges to: plain frozen dataclasses, no database.

The shapes follow Neutron's resources so that the network agent can fill them straight from
its rows: a router's interfaces and gateway, and a network's DHCP server, are ports with
the upstream `device_owner` values.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
DHCP = "network:dhcp"
METADATA_ADDRESS = "169.254.169.254"


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination CIDR, nexthop)

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)

    @property
    def ip_version(self) -> int:
        return self.network.version


@dataclass(frozen=True)
class Network:
    id: str
    network_type: str = "flat"  # flat | vxlan | vlan
    segmentation_id: int | None = None
    physical_network: str | None = None
    mtu: int = 1500
    subnets: tuple[Subnet, ...] = ()

    @property
    def dhcp_subnets(self) -> list[Subnet]:
        """The subnets dnsmasq serves (IPv4 only: DHCPv6 and RA are not done yet)."""
        return [s for s in self.subnets if s.enable_dhcp and s.ip_version == 4]


@dataclass(frozen=True)
class FixedIP:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class Port:
    id: str
    network_id: str
    mac_address: str
    fixed_ips: tuple[FixedIP, ...] = ()
    device_owner: str = "compute:nova"
    device_id: str = ""
    hostname: str | None = None
    security_group_ids: tuple[str, ...] = ()
    port_security_enabled: bool = True
    allowed_address_pairs: tuple[tuple[str, str | None], ...] = ()  # (IP or CIDR, MAC)

    @property
    def is_instance_port(self) -> bool:
        """A guest's port (plugged as a tap), as opposed to a router's or DHCP's."""
        return not self.device_owner.startswith("network:")


@dataclass(frozen=True)
class Router:
    id: str
    enable_snat: bool = True
    routes: tuple[tuple[str, str], ...] = ()  # (destination CIDR, nexthop)


@dataclass(frozen=True)
class FloatingIP:
    floating_ip_address: str
    fixed_ip_address: str
    router_id: str


@dataclass(frozen=True)
class SecurityGroupRule:
    direction: str  # ingress | egress
    ethertype: str = "IPv4"
    protocol: str | None = None  # tcp, udp, icmp, ipv6-icmp, a number, or None for any
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


@dataclass(frozen=True)
class SecurityGroup:
    """`member_ips`: the addresses (fixed IPs and allowed address pairs) of every port in
    the group on any host, which rules naming it as their remote group match."""

    id: str
    rules: tuple[SecurityGroupRule, ...] = ()
    member_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topology:
    """Everything one host's data plane should hold."""

    networks: tuple[Network, ...] = ()
    ports: tuple[Port, ...] = ()
    routers: tuple[Router, ...] = ()
    floating_ips: tuple[FloatingIP, ...] = ()
    security_groups: tuple[SecurityGroup, ...] = ()
    _subnets: dict[str, Subnet] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        subnets = {subnet.id: subnet for net in self.networks for subnet in net.subnets}
        object.__setattr__(self, "_subnets", subnets)

    def network(self, network_id: str) -> Network:
        return next(net for net in self.networks if net.id == network_id)

    def subnet(self, subnet_id: str) -> Subnet:
        return self._subnets[subnet_id]

    def interface(self, fixed_ip: FixedIP) -> str:
        """A fixed IP with its subnet's prefix length, as `ip addr` takes it."""
        prefix = self.subnet(fixed_ip.subnet_id).network.prefixlen
        return f"{fixed_ip.ip_address}/{prefix}"

    def router_ports(self, router_id: str) -> list[Port]:
        """The router's interface ports and its gateway port (if any)."""
        return [
            port
            for port in self.ports
            if port.device_id == router_id
            and port.device_owner in (ROUTER_INTERFACE, ROUTER_GATEWAY)
        ]

    def dhcp_port(self, network_id: str) -> Port | None:
        """The network's DHCP port, if it has DHCP (a port and a subnet to serve)."""
        if not self.network(network_id).dhcp_subnets:
            return None
        return next(
            (p for p in self.ports if p.network_id == network_id and p.device_owner == DHCP),
            None,
        )

    def is_isolated(self, network_id: str) -> bool:
        """No router on it: its metadata is served from its DHCP namespace instead."""
        return not any(
            p.network_id == network_id and p.device_owner == ROUTER_INTERFACE for p in self.ports
        )
