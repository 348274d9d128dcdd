"""Documents in Neutron's shapes, from rows and what the domain loaded beside them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nimbus.db.models.network import (
    FloatingIp,
    Network,
    Port,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetPool,
)
from nimbus.network import segments
from nimbus.network.security_groups import normalized_cidr

#: Every network and router is in the one zone (availability_zone extension).
ZONE = "nova"


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner(row: Any) -> dict[str, Any]:
    """The owner, under both of its names."""
    return {"tenant_id": row.project_id, "project_id": row.project_id}


def _history(row: Any) -> dict[str, Any]:
    """standard-attr-timestamp and -revisions."""
    return {
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "revision_number": row.revision_number,
    }


def _standard(row: Any) -> dict[str, Any]:
    """The standard attributes (description, tags, history) and the owner."""
    return {
        **_owner(row),
        "description": row.description,
        "tags": list(row.tags or []),
        **_history(row),
    }


def network(row: Network, subnet_ids: list[str]) -> dict[str, Any]:
    flat = row.network_type == "flat"
    return {
        "id": row.id,
        "name": row.name,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "shared": row.shared,
        "router:external": row.external,
        "subnets": subnet_ids,
        "mtu": row.mtu,
        "port_security_enabled": row.port_security_enabled,
        "provider:network_type": row.network_type,
        "provider:physical_network": row.physical_network or None,
        "provider:segmentation_id": None
        if flat and row.segmentation_id == segments.FLAT_ID
        else row.segmentation_id,
        "availability_zone_hints": list(row.availability_zone_hints or []),
        "availability_zones": [ZONE],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "is_default": False,
        "l2_adjacency": True,
        **_standard(row),
    }


def subnet(row: Subnet) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "network_id": row.network_id,
        "ip_version": row.ip_version,
        "cidr": row.cidr,
        "gateway_ip": row.gateway_ip,
        "enable_dhcp": row.enable_dhcp,
        "allocation_pools": list(row.allocation_pools or []),
        "dns_nameservers": list(row.dns_nameservers or []),
        "host_routes": list(row.host_routes or []),
        "ipv6_ra_mode": row.ipv6_ra_mode,
        "ipv6_address_mode": row.ipv6_address_mode,
        "subnetpool_id": row.subnetpool_id,
        "segment_id": None,
        "service_types": [],
        **_standard(row),
    }


def subnetpool(row: SubnetPool) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "ip_version": row.ip_version,
        "prefixes": list(row.prefixes),
        "default_prefixlen": row.default_prefixlen,
        "min_prefixlen": row.min_prefixlen,
        "max_prefixlen": row.max_prefixlen,
        "shared": row.shared,
        "is_default": row.is_default,
        "default_quota": row.default_quota,
        "address_scope_id": None,
        **_standard(row),
    }


def port(row: Port, fixed_ips: list[dict[str, str]], groups: list[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "network_id": row.network_id,
        "mac_address": row.mac_address,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "device_id": row.device_id,
        "device_owner": row.device_owner,
        "fixed_ips": fixed_ips,
        "allowed_address_pairs": list(row.allowed_address_pairs or []),
        "extra_dhcp_opts": [],
        "security_groups": groups,
        "port_security_enabled": row.port_security_enabled,
        "binding:host_id": row.host_id,
        "binding:vif_type": row.vif_type,
        "binding:vif_details": dict(row.vif_details or {}),
        "binding:vnic_type": row.vnic_type,
        "binding:profile": dict(row.profile or {}),
        "ip_allocation": "immediate",
        **_standard(row),
    }


def router(row: Router, gateway: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "external_gateway_info": gateway,
        "routes": list(row.routes or []),
        "availability_zone_hints": list(row.availability_zone_hints or []),
        "availability_zones": [ZONE],
        "distributed": False,
        "ha": False,
        "flavor_id": None,
        **_standard(row),
    }


def floatingip(row: FloatingIp) -> dict[str, Any]:
    return {
        "id": row.id,
        "floating_network_id": row.floating_network_id,
        "floating_ip_address": row.floating_ip_address,
        "fixed_ip_address": row.fixed_ip_address,
        "port_id": row.fixed_port_id,
        "router_id": row.router_id,
        "status": row.status,
        "qos_policy_id": None,
        "port_forwardings": [],
        **_standard(row),
    }


def security_group_rule(row: SecurityGroupRule, in_default: bool) -> dict[str, Any]:
    return {
        "id": row.id,
        **_owner(row),
        "security_group_id": row.security_group_id,
        "direction": row.direction,
        "ethertype": row.ethertype,
        "protocol": row.protocol,
        "port_range_min": row.port_range_min,
        "port_range_max": row.port_range_max,
        "remote_ip_prefix": row.remote_ip_prefix,
        "normalized_cidr": normalized_cidr(row.remote_ip_prefix),
        "remote_group_id": row.remote_group_id,
        "remote_address_group_id": None,
        "belongs_to_default_sg": in_default,
        "description": row.description,
        **_history(row),
    }


def security_group(
    row: SecurityGroup, rules: list[SecurityGroupRule], is_default: bool
) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "stateful": row.stateful,
        "shared": False,
        "security_group_rules": [security_group_rule(rule, is_default) for rule in rules],
        **_standard(row),
    }
