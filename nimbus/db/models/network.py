"""Network service tables: networks, subnets, ports and what hangs off them.

Every table is prefixed ``net_``. Two unique constraints carry the service's hardest
promises, so that they hold across processes and not only inside one: an address is
allocated at most once per network (``net_ip_allocation``), and a segmentation id at
most once per (type, physical network) (``net_network``; ``physical_network`` is ""
rather than NULL for tunnelled types, because NULLs never collide in a unique index).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nimbus.db.base import ApiBase, utcnow

_UUID = 36


def _uuid() -> Mapped[str]:
    """Neutron's ids are dashed UUIDs (clients and Tempest check the form)."""
    return mapped_column(String(_UUID), primary_key=True, default=lambda: str(uuid.uuid4()))


class StandardAttributes:
    """What every Neutron resource carries (the standard-attr-* extensions)."""

    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Network(StandardAttributes, ApiBase):
    __tablename__ = "net_network"
    __table_args__ = (UniqueConstraint("network_type", "physical_network", "segmentation_id"),)

    id: Mapped[str] = _uuid()
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str] = mapped_column(String(64), default="")
    #: None only for flat networks, whose uniqueness is checked by the domain code.
    segmentation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)


class SubnetPool(StandardAttributes, ApiBase):
    """Prefixes subnets may be carved from (subnet_allocation)."""

    __tablename__ = "net_subnetpool"

    id: Mapped[str] = _uuid()
    ip_version: Mapped[int] = mapped_column(Integer)
    #: CIDRs, collapsed and sorted.
    prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_quota: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Subnet(StandardAttributes, ApiBase):
    __tablename__ = "net_subnet"

    id: Mapped[str] = _uuid()
    network_id: Mapped[str] = mapped_column(
        ForeignKey("net_network.id", ondelete="CASCADE"), index=True
    )
    subnetpool_id: Mapped[str | None] = mapped_column(
        ForeignKey("net_subnetpool.id"), nullable=True, index=True
    )
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    #: [{"start": ..., "end": ...}], ordered.
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: [{"destination": ..., "nexthop": ...}]
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Port(StandardAttributes, ApiBase):
    __tablename__ = "net_port"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)

    id: Mapped[str] = _uuid()
    network_id: Mapped[str] = mapped_column(
        ForeignKey("net_network.id", ondelete="CASCADE"), index=True
    )
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    host_id: Mapped[str] = mapped_column(String(255), default="")
    vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    vif_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: [{"ip_address": ..., "mac_address": ...}]
    allowed_address_pairs: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class IpAllocation(ApiBase):
    """One fixed IP of one port; the primary key is what forbids a duplicate address."""

    __tablename__ = "net_ip_allocation"

    network_id: Mapped[str] = mapped_column(String(_UUID), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("net_port.id", ondelete="CASCADE"), index=True)
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("net_subnet.id", ondelete="CASCADE"), index=True
    )


class SecurityGroup(StandardAttributes, ApiBase):
    __tablename__ = "net_security_group"

    id: Mapped[str] = _uuid()
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class DefaultSecurityGroup(ApiBase):
    """Which group is a project's `default`; the key makes a second one impossible."""

    __tablename__ = "net_default_security_group"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        # Named here: the generated name would pass MySQL's 64-character limit.
        ForeignKey("net_security_group.id", ondelete="CASCADE", name="fk_net_default_sg_group")
    )


class SecurityGroupRule(ApiBase):
    __tablename__ = "net_security_group_rule"

    id: Mapped[str] = _uuid()
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("net_security_group.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("net_security_group.id", ondelete="CASCADE"), nullable=True
    )
    description: Mapped[str] = mapped_column(String(255), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PortSecurityGroup(ApiBase):
    __tablename__ = "net_port_security_group"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("net_port.id", ondelete="CASCADE"), primary_key=True
    )
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("net_security_group.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Router(StandardAttributes, ApiBase):
    __tablename__ = "net_router"

    id: Mapped[str] = _uuid()
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("net_port.id", ondelete="SET NULL"), nullable=True
    )
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    #: [{"destination": ..., "nexthop": ...}] (extraroute)
    routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)


class FloatingIp(StandardAttributes, ApiBase):
    __tablename__ = "net_floatingip"
    #: A fixed address is reachable through one floating IP at most.
    __table_args__ = (UniqueConstraint("fixed_port_id", "fixed_ip_address"),)

    id: Mapped[str] = _uuid()
    floating_network_id: Mapped[str] = mapped_column(
        ForeignKey("net_network.id", ondelete="CASCADE"), index=True
    )
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    floating_port_id: Mapped[str] = mapped_column(ForeignKey("net_port.id", ondelete="CASCADE"))
    fixed_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("net_port.id", ondelete="SET NULL"), nullable=True, index=True
    )
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("net_router.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


class Quota(ApiBase):
    """A project's limit for one resource, where it differs from the default."""

    __tablename__ = "net_quota"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)


__all__ = [
    "DefaultSecurityGroup",
    "FloatingIp",
    "IpAllocation",
    "Network",
    "Port",
    "PortSecurityGroup",
    "Quota",
    "Router",
    "SecurityGroup",
    "SecurityGroupRule",
    "Subnet",
    "SubnetPool",
]
